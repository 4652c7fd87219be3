"""The client's buttons (and what typed words stand for them): menu, close, rate, erase."""

from __future__ import annotations

from datetime import datetime

from faq.model import Candidate, Decision, MatchResult
from handlers.deps import Deps
from handlers.event_ports import ConversationEvent, EventKind, Notifier
from handlers.handover import HandOver
from handlers.model import Action, ActionKind, Author, Recorded, Reply, State
from handlers.ports import ConversationStore
from handlers.replies import CONFIRMED, KEEP


async def erase_client(store: ConversationStore, notifier: Notifier, client_id: int,
                       now: datetime, by: str = "client") -> None:
    """Erasure on the client's request (by "client") or by an administrator ("admin"): the
    database, then every staff surface that keeps copies of the client's messages."""
    for conversation_id in await store.erase_client(client_id, now, by):
        await notifier.publish(ConversationEvent(EventKind.ERASED, conversation_id, text=by))


class Actions:
    """The client's buttons, and the words that stand for them (parsed by the caller)."""

    def __init__(self, deps: Deps, handover: HandOver) -> None:
        self._d = deps
        self._handover = handover

    async def on_action(self, action: Action, rec: Recorded, now: datetime) -> list[Reply]:
        r = self._d.replies
        match action.kind:
            case ActionKind.START:
                return [r.greeting(consented=rec.client.consent_at is not None)]
            case ActionKind.MENU | ActionKind.CANCEL:
                return [r.menu()]
            case ActionKind.CATEGORY:
                return [r.category(action.value)]
            case ActionKind.ENTRY:
                await self._record_choice(rec, action.value)
                return [r.entry(action.value)]
            case ActionKind.SPECIALIST:
                return await self._handover.ask_specialist(rec, now)
            case ActionKind.CONSENT:
                return await self._handover.consent(rec, action.value, now)
            case ActionKind.CLOSE:
                return await self._close(rec, action.value, now)
            case ActionKind.RATE:
                return await self._rate(rec, action.value, now)
            case ActionKind.FORGET:
                return [r.forget_confirm()]
            case ActionKind.FORGET_CONFIRM:
                return await self._forget(rec, now)
        return [r.menu()]

    async def _record_choice(self, rec: Recorded, entry_id: str) -> None:
        entry = self._d.faq.kb.entry(entry_id)
        if entry is not None:
            # Recorded as an answer for that entry (docs/metrics.md): the client chose it.
            chosen = MatchResult(Decision.ANSWER, (Candidate(entry.id, 1.0),))
            await self._d.store.annotate(rec.message_id, chosen, entry.category)


    async def _close(self, rec: Recorded, value: str, now: datetime) -> list[Reply]:
        conv = rec.conversation
        if conv.state is State.CLOSED:
            return [self._d.replies.already_closed()]
        if value == KEEP:
            waiting = conv.state in (State.WAITING, State.WITH_SPECIALIST)
            return [self._handover.already_waiting(rec, now) if waiting
                    else self._d.replies.menu()]
        # Handed over, no specialist has replied (whoever holds it now): one tap must not
        # drop the question unasked.
        unanswered = conv.state in (State.WAITING, State.WITH_SPECIALIST) and not conv.answered
        if unanswered and value != CONFIRMED:
            return [self._d.replies.close_confirm()]
        closed = await self._d.store.close(conv.id, now, Author.CLIENT)
        if closed:
            await self._d.notifier.publish(ConversationEvent(EventKind.CLOSED, conv.id))
        if unanswered:
            return [self._d.replies.question_cancelled()]  # nobody answered: nothing to rate
        return [self._d.replies.ask_rating()]

    async def _rate(self, rec: Recorded, value: str, now: datetime) -> list[Reply]:
        rating = int(value) if value.isdigit() else 0
        valid = 1 <= rating <= 5
        conv = await self._d.store.last_closed(rec.client.id)
        # A rating out of range is asked again only right after a close: in an open
        # conversation "Обращение завершено. Оцените…" would be untrue.
        if not valid and conv is not None and rec.conversation.state is State.CLOSED:
            return [self._d.replies.ask_rating()]
        if not valid or conv is None or not await self._d.store.rate(conv.id, rating, now):
            return [self._d.replies.rating_not_expected()]
        await self._d.notifier.publish(ConversationEvent(EventKind.RATED, conv.id, text=value))
        return [self._d.replies.rated(rating)]

    async def _forget(self, rec: Recorded, now: datetime) -> list[Reply]:
        # The confirmation is queued before erasure: the outbox keeps the address it needs.
        await self._d.store.enqueue(
            rec.conversation, rec.client, [self._d.replies.forgotten().for_app(rec.client.app)],
            Author.BOT, now)
        await erase_client(self._d.store, self._d.notifier, rec.client.id, now)
        return []
