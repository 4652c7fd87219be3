"""The client writes while their question waits for a specialist or is with one."""

from __future__ import annotations

from datetime import datetime, timedelta

from faq.model import Decision, MatchResult
from handlers.deps import MAX_NOTED, Deps
from handlers.event_ports import ConversationEvent, EventKind
from handlers.handover import HandOver
from handlers.model import Recorded, Reply, State
from handlers.offers import CLOSING_REMARKS
from handlers.person_request import wants_human
from handlers.pii import as_kept
from handlers.question_reading import MAX_MATCH_CHARS

# «алло», «ау», «когда ответите» while nobody has taken the question: a word back at most this
# often; half an hour of silence read as a broken chat, every message answered as spam.
NOTE_EVERY = timedelta(minutes=10)


class WhileHuman:
    """Replies to a client whose question is with the specialists: rarely, and only when sure."""

    def __init__(self, deps: Deps, handover: HandOver) -> None:
        self._d = deps
        self._handover = handover
        # Conversation → when the client was last told their words reached the specialists.
        # Per process: another replica may say it once more, which is harmless.
        self._noted_at: dict[int, datetime] = {}

    async def reply(self, rec: Recorded, text: str, now: datetime) -> list[Reply]:
        # The staff are shown what is stored (a crisis hands over a client who declined too).
        shown = as_kept(text, rec.client.declined)
        await self._d.notifier.publish(
            ConversationEvent(EventKind.CLIENT_MESSAGE, rec.conversation.id, rec.message_id, shown)
        )
        if rec.conversation.state is State.WITH_SPECIALIST or not text:
            return []
        if wants_human(text[:MAX_MATCH_CHARS]):
            return [self._handover.already_waiting(rec, now)]
        # While waiting the bot still answers what it is sure of; the specialist sees both.
        match = self._d.faq.match(text[:MAX_MATCH_CHARS])
        if match.decision is not Decision.ANSWER:
            # Not recorded as a decision: it would count as a clarifying question or a gap in
            # the knowledge base (docs/metrics.md) for what was a word to a specialist.
            return [self._noted(rec, now)] if self._should_note(rec, match, now) else []
        await self._d.store.annotate(rec.message_id, match, self._d.category_of(match))
        return [self._d.replies.for_match(match, waiting=True)]

    def _should_note(self, rec: Recorded, match: MatchResult, now: datetime) -> bool:
        """«вы тут? я жду» while nobody has taken the question yet gets a word back, once in
        a while: silence reads as a broken chat. Thanks and goodbyes need none."""
        if match.smalltalk in CLOSING_REMARKS:
            return False
        conversation = rec.conversation.id
        last = self._noted_at.get(conversation)
        if last is not None and now - last < NOTE_EVERY:
            return False
        if len(self._noted_at) >= MAX_NOTED:
            self._noted_at.clear()
        self._noted_at[conversation] = now
        return True

    def _noted(self, rec: Recorded, now: datetime) -> Reply:
        if rec.conversation.assigned_to is not None:  # taken, no reply yet
            return self._d.replies.noted_while_waiting(
                self._handover.taken_when(rec, now), taken=True)
        routing = self._d.router.route(rec.conversation.queue, rec.conversation.urgent, now)
        return self._d.replies.noted_while_waiting(routing.expected_text)

