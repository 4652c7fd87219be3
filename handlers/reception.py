"""The conversation core: stores each client message first, then answers or hands over."""

from __future__ import annotations

import dataclasses
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from faq.model import Candidate, Decision, MatchResult, SmallTalk
from faq.smalltalk import detect_smalltalk
from handlers.commands import looks_like_question, parse_command, wants_erasure
from handlers.crisis import CrisisHit
from handlers.event_ports import ConversationEvent, EventKind, Notifier
from handlers.faq_ports import Faq
from handlers.model import (
    Action,
    ActionKind,
    AttachmentKind,
    Author,
    Button,
    Channel,
    IncomingMessage,
    Recorded,
    Reply,
    State,
)
from handlers.person_request import says_lost, topic_of_request, wants_human
from handlers.pii import has_document_number
from handlers.ports import Annotation, ConversationStore, CrisisDetector, Escalation
from handlers.queue_ports import Router, Routing
from handlers.readings import readings_of
from handlers.replies import CONFIRMED, DECLINE, KEEP, OFFERED, ReplyBuilder
from handlers.typed_answers import (
    NONE_OF_THESE,
    YES,
    agrees_to_hand_over,
    opens_with_consent,
    typed_choice,
    typed_consent,
    typed_rating,
)

log = logging.getLogger(__name__)

# Matching reads the start of a message only: a question buried after 1,000 characters of
# story is rare, and a 50,000-character paste must not cost more than a normal message.
MAX_MATCH_CHARS = 1000
# Decisions that leave the client without an answer: after a request for a specialist they
# read as the question for the specialist.
_UNSURE = (Decision.NO_MATCH, Decision.CLARIFY)
# Offers a typed yes or no answers: the consent notice and the erasure's confirmation.
_AGREEMENTS = (ActionKind.CONSENT, ActionKind.FORGET_CONFIRM)
_CLOSING_REMARKS = (SmallTalk.THANKS, SmallTalk.GOODBYE, SmallTalk.ACKNOWLEDGEMENT,
                    SmallTalk.CONGRATULATION)
# «алло», «ау», «когда ответите» while nobody has taken the question: a word back at most this
# often; half an hour of silence read as a broken chat, every message answered as spam.
NOTE_EVERY = timedelta(minutes=10)
MAX_NOTED = 10_000
# Files a specialist must look at: a caption with one is read as about the file first.
_DOCUMENTS = (AttachmentKind.PHOTO, AttachmentKind.DOCUMENT, AttachmentKind.VIDEO)
# The photos of an album arrive within a second or two: the later ones are stored, not answered.
ALBUM_WINDOW = timedelta(seconds=10)


# Letters no font draws, sent alone to look like a message: read as no text at all.
_BLANK_LETTERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def visible_text(text: str) -> str:
    """The text stripped; "" when nothing in it shows (zero-width spaces, joiners, BOMs,
    direction marks, Hangul fillers), as for an empty message."""
    text = text.strip()
    shows = any(not (ch.isspace() or ch in _BLANK_LETTERS
                     or unicodedata.category(ch) in ("Cf", "Cc", "Mn", "Me"))
                for ch in text)
    return text if shows else ""


def _has_file(msg: IncomingMessage) -> bool:
    return any(a.kind in _DOCUMENTS for a in msg.attachments)


async def erase_client(store: ConversationStore, notifier: Notifier, client_id: int,
                       now: datetime, by: str = "client") -> None:
    """Erasure on the client's request (by "client") or by an administrator ("admin"): the
    database, then every staff surface that keeps copies of the client's messages."""
    for conversation_id in await store.erase_client(client_id, now, by):
        await notifier.publish(ConversationEvent(EventKind.ERASED, conversation_id, text=by))


@dataclass(frozen=True, slots=True)
class Deps:
    store: ConversationStore
    faq: Faq
    replies: ReplyBuilder
    notifier: Notifier
    router: Router
    crisis: CrisisDetector
    clock: Callable[[], datetime]


class Reception:
    """Handles one client message at a time; safe to call again for a re-delivered event."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps
        # Conversation → when the client was last told their words reached the specialists.
        # Per process: another replica may say it once more, which is harmless.
        self._noted_at: dict[int, datetime] = {}
        # Conversations whose client was told document numbers are not needed; per process.
        self._warned: set[int] = set()
        # (channel, user, album) → when its first message was handled; per process too.
        self._albums: dict[tuple[str, str, str], datetime] = {}

    async def handle(self, msg: IncomingMessage) -> bool:
        """Process a message; False when it was a duplicate delivery and nothing was done."""
        now = self._d.clock()
        action = msg.action or parse_command(msg.text) or await self._typed_option(msg)
        action = await self._unless_unasked(msg, action)
        gone = await self._gone_entry_label(msg, action)
        lost_after = await self._offer_if_lost(msg, action)
        remark = None if action is not None else await self._remark_while_rating(msg)
        # A rating belongs to the conversation that was just closed, not to a new one; and the
        # "close" button of an old message must not open a conversation only to close it;
        # nor do thanks written while a rating is asked for («спасибо, дай бог здоровья»).
        reopen = remark is None and (
            action is None or action.kind not in (ActionKind.RATE, ActionKind.CLOSE))
        rec = await self._d.store.record_incoming(msg, now, open_new=reopen)
        if rec is None:
            return False
        if self._later_in_album(msg, now) and not msg.text.strip():
            # One reply per album, not «файл получен» per photo; a specialist sees every
            # photo. A photo with a caption of its own is read like any message.
            if rec.conversation.state in (State.WAITING, State.WITH_SPECIALIST):
                await self._d.notifier.publish(ConversationEvent(
                    EventKind.CLIENT_MESSAGE, rec.conversation.id, rec.message_id, ""))
            return True
        if remark is not None and rec.conversation.state is State.CLOSED:
            replies = [self._d.replies.rating_still_wanted(remark)]
        else:
            replies = await (self._gone_entry(rec, gone, now) if gone is not None
                             else self._dispatch(rec, msg, action, now, lost_after))
        if replies:
            await self._send(rec, replies, now)
        return True

    def _later_in_album(self, msg: IncomingMessage, now: datetime) -> bool:
        """Whether an earlier message of the same album was handled moments ago."""
        if not msg.album or msg.action is not None:
            return False
        key = (str(msg.channel), msg.user_id, msg.album)
        first = self._albums.get(key)
        if first is not None and timedelta(0) <= now - first <= ALBUM_WINDOW:
            return True
        if len(self._albums) >= MAX_NOTED:
            self._albums.clear()
        self._albums[key] = now
        return False

    async def _send(self, rec: Recorded, replies: list[Reply], now: datetime,
                    annotation: Annotation | None = None) -> None:
        # One text: what the client reads is what the desk, transcript and topic show.
        replies = [reply.for_app(rec.client.app) for reply in replies]
        # The store hands the committed replies to the outbox worker.
        await self._d.store.enqueue(rec.conversation, rec.client, replies, Author.BOT, now,
                                    annotation=annotation)

    async def _unless_unasked(self, msg: IncomingMessage, action: Action | None) -> Action | None:
        """«Да, удалить» counts only as the answer to the question the bot asked last: a
        press of an old one, or a web chat's request forged without it, asks again."""
        if action is None or action.kind is not ActionKind.FORGET_CONFIRM:
            return action
        offered = await self._d.store.last_offer(msg.channel, msg.user_id)
        asked = any(b.action.kind is ActionKind.FORGET_CONFIRM for row in offered for b in row)
        return action if asked else Action(ActionKind.FORGET)

    async def _offer_if_lost(self, msg: IncomingMessage,
                             action: Action | None) -> tuple[tuple[Button, ...], ...] | None:
        """For «не понял», the buttons of the bot's reply it is about (read before the
        message is stored, while that reply is still the client's last message)."""
        if action is not None or not msg.text or not says_lost(msg.text[:MAX_MATCH_CHARS]):
            return None
        return await self._d.store.last_offer(msg.channel, msg.user_id)

    async def _dispatch(
        self, rec: Recorded, msg: IncomingMessage, action: Action | None, now: datetime,
        lost_after: tuple[tuple[Button, ...], ...] | None = None,
    ) -> list[Reply]:
        if action is not None:
            return await self._on_action(action, rec, now)
        text = visible_text(msg.text)
        hit = self._d.crisis.detect(text[:MAX_MATCH_CHARS]) if text else None
        if hit is not None:
            return await self._on_crisis(rec, hit, now, with_file=_has_file(msg))
        readings = readings_of(text[:MAX_MATCH_CHARS]) if text else ()
        if text and wants_erasure(text[:MAX_MATCH_CHARS], readings):
            return [*self._file_received(msg, "erasure"), self._d.replies.forget_confirm()]
        if rec.conversation.state in (State.WAITING, State.WITH_SPECIALIST):
            return await self._while_human(rec, text, now)
        if self._documents_unasked(rec, text):
            # Before it, not after: the reply's buttons must stay the last offer.
            await self._send(rec, [self._d.replies.documents_not_needed()], now)
        if not text:
            return [self._d.replies.attachment_only(
                bool(msg.attachments), tuple(str(a.kind) for a in msg.attachments))]
        if self._consent_pending(rec) and (typed_choice(text) in (YES, NONE_OF_THESE)
                                           or opens_with_consent(text)):
            # «согласна» / «нет» typed to the consent notice after a bot answer in between
            # (the last offer is no longer the notice's buttons), or «согласна, но …»: the rest
            # of the message reaches the specialist with it.
            then = DECLINE if typed_choice(text) == NONE_OF_THESE else "specialist"
            return await self._consent(rec, then, now)
        if typed_consent(text):
            # «согласна» typed long after the greeting's notice: taken as agreement.
            return await self._consent(rec, "", now)
        explained = self._d.replies.explain_again(lost_after) \
            if lost_after and not _has_file(msg) else None
        if explained is not None:
            # «не понял» after an answer or choices is explained once more before a second
            # one hands over: the consent text would be harder still to follow.
            return [explained]
        if detect_smalltalk(text[:MAX_MATCH_CHARS]) is SmallTalk.IDENTITY:
            # «вы живой человек?» asks who answers, not for one: told, with the way to one.
            await self._reply_to(rec, MatchResult(Decision.SMALLTALK,
                                                  smalltalk=SmallTalk.IDENTITY), now)
            return []
        if wants_human(text[:MAX_MATCH_CHARS], readings):
            asked = await self._ask_specialist(await self._requested_topic(rec, text, now), now)
            return [*self._file_received(msg, "specialist"), *asked]
        if _has_file(msg):
            await self._captioned_file(rec, msg, text, now)
        else:
            await self._answer(rec, text, now)
        return []

    def _documents_unasked(self, rec: Recorded, text: str) -> bool:
        """A СНИЛС or a passport number sent before any consent: the client is told once per
        conversation that the chat needs none (the stored text is masked as ever)."""
        conversation = rec.conversation.id
        if rec.client.consent_at is not None or conversation in self._warned \
                or not has_document_number(text[:MAX_MATCH_CHARS]):
            return False
        if len(self._warned) >= MAX_NOTED:
            self._warned.clear()
        self._warned.add(conversation)
        return True

    def _file_received(self, msg: IncomingMessage, then: str) -> list[Reply]:
        """A file whose caption asks for something else is acknowledged before the answer to
        that: the client must not think it was lost."""
        if not _has_file(msg):
            return []
        kinds = tuple(str(a.kind) for a in msg.attachments)
        return [self._d.replies.attachment_only(True, kinds, then=then)]

    async def _captioned_file(self, rec: Recorded, msg: IncomingMessage, text: str,
                              now: datetime) -> None:
        """A photo or document with a caption: the file is acknowledged as if sent alone, and
        the caption answered only when the FAQ is sure of it. «Заявление во вложении» or «вот
        фото справки» describes the file: no "no answer" and no clarification; a caption that is
        a question the FAQ cannot answer is recorded as a gap all the same."""
        kinds = tuple(str(a.kind) for a in msg.attachments)
        match = self._d.faq.match(text[:MAX_MATCH_CHARS])
        if match.decision is Decision.ANSWER:
            replies = [self._d.replies.attachment_only(True, kinds, answered=True),
                       self._d.replies.for_match(match)]
            await self._send(rec, replies, now,
                             Annotation(rec.message_id, match, self._category_of(match)))
            return
        replies = [self._d.replies.attachment_only(True, kinds)]
        if self._consent_pending(rec):
            replies.append(self._d.replies.consent_reminder())
            await self._send(rec, replies, now)
            return
        # A real question the knowledge base cannot answer is a gap in it, though the client
        # is only told of the file; a description of the file is not.
        gap = Annotation(rec.message_id, MatchResult(Decision.NO_MATCH, match.candidates), "") \
            if match.decision in _UNSURE and looks_like_question(text) else None
        await self._send(rec, replies, now, gap)

    async def _remark_while_rating(self, msg: IncomingMessage) -> SmallTalk | None:
        """Thanks, a goodbye or a blessing right after "rate us 1 to 5": the rating is still
        wanted, so the buttons come again (a later «4» is then read as the rating)."""
        kind = detect_smalltalk(msg.text[:200]) if msg.text and len(msg.text) <= 200 else None
        if kind not in _CLOSING_REMARKS:
            return None
        offered = await self._d.store.last_offer(msg.channel, msg.user_id)
        rating = any(b.action.kind is ActionKind.RATE for row in offered for b in row)
        return kind if rating else None

    async def _typed_option(self, msg: IncomingMessage) -> Action | None:
        """The button of the bot's last message that a typed number, yes or no stands for.

        Elderly clients often type "2" rather than press the second button, or "5" for a
        rating. Read only for such short messages, before the message is stored: a rating
        is stored with the conversation it rates.
        """
        choice = typed_choice(msg.text)
        rating = typed_rating(msg.text) if choice is None else None
        agrees = choice == YES or (rating is None and agrees_to_hand_over(msg.text))
        if choice is None and rating is None and not agrees:
            return None
        offered = [b.action for row in await self._d.store.last_offer(msg.channel, msg.user_id)
                   for b in row]
        hand_over = Action(ActionKind.SPECIALIST, OFFERED)
        if agrees and hand_over in offered:
            # «да, передайте» to «Могу передать его специалисту»: the unanswered question
            # before it stays the one the specialist is asked (not the «да»).
            return hand_over
        close = Action(ActionKind.CLOSE, CONFIRMED)
        if close in offered and choice in (YES, NONE_OF_THESE):
            # «да» / «нет» to «Точно отменить вопрос?».
            return close if choice == YES else Action(ActionKind.CLOSE, KEEP)
        ratings = [a for a in offered if a.kind is ActionKind.RATE]
        if ratings and rating is not None:
            return Action(ActionKind.RATE, str(rating))  # «5, спасибо вам большое, дочка»
        if choice is None:
            return None
        if ratings:
            # "7" or "0" after "rate us 1 to 5" is a rating out of range: asked again.
            return Action(ActionKind.RATE, str(choice)) if choice > 0 else None
        agree = next((a for a in offered if a.kind in _AGREEMENTS and a.value != DECLINE), None)
        if agree is not None and choice in (YES, NONE_OF_THESE):
            # "да" / "согласна" to the consent notice or to "erase everything?"; "нет" declines.
            if choice == YES:
                return agree
            return Action(ActionKind.CANCEL) if agree.kind is ActionKind.FORGET_CONFIRM \
                else Action(ActionKind.CONSENT, DECLINE)
        options = [a for a in offered if a.kind in (ActionKind.ENTRY, ActionKind.CATEGORY)]
        if choice == NONE_OF_THESE:
            # A clarifying question's own way out: its "none of these" hands over.
            entries = any(a.kind is ActionKind.ENTRY for a in options)
            return next((a for a in offered if a.kind is ActionKind.SPECIALIST and entries), None)
        if choice == YES:
            return options[0] if len(options) == 1 else None
        return options[choice - 1] if choice <= len(options) else None

    async def _gone_entry_label(self, msg: IncomingMessage, action: Action | None) -> str | None:
        """The label of an entry's button whose id the knowledge base no longer has (renamed
        or removed since it was offered); "" when unknown; None for any other action.

        Read before the press is stored, while the offer is still the client's last message.
        """
        if action is None or action.kind is not ActionKind.ENTRY \
                or self._d.faq.kb.entry(action.value) is not None:
            return None
        offered = await self._d.store.last_offer(msg.channel, msg.user_id)
        label = next((b.label for row in offered for b in row if b.action == action), "")
        # A VK keyboard sends its button's label as the text.
        return label or (msg.text.strip() if msg.action is not None else "")

    async def _gone_entry(self, rec: Recorded, label: str, now: datetime) -> list[Reply]:
        """The button's question is matched again, as if typed: answered or clarified from
        the current knowledge base, else the no-match reply that offers a specialist."""
        if label:
            await self._answer(rec, label, now)
            return []
        none = MatchResult(Decision.NO_MATCH)
        await self._send(rec, [self._d.replies.for_match(none)], now,
                         Annotation(rec.message_id, none, ""))
        return []

    async def _answer(self, rec: Recorded, text: str, now: datetime) -> None:
        await self._reply_to(rec, self._d.faq.match(text[:MAX_MATCH_CHARS]), now)

    async def _reply_to(self, rec: Recorded, match: MatchResult, now: datetime) -> None:
        # The hot path: the judgement and the reply are written in one transaction.
        annotation = Annotation(rec.message_id, match, self._category_of(match))
        reply = self._d.replies.for_match(match)
        if match.decision in _UNSURE and self._consent_pending(rec):
            # The client asked for a specialist, was asked to agree first and typed their
            # question instead: it is kept for the specialist, the consent is asked again.
            # The bot neither clarified nor failed to answer it: no decision is recorded.
            reply = self._d.replies.consent_reminder()
            annotation = Annotation(rec.message_id, None, "")
        await self._send(rec, [reply], now, annotation)

    @staticmethod
    def _consent_pending(rec: Recorded) -> bool:
        """Whether this client asked for a specialist and was asked to agree first (read with
        the conversation itself: no query on the hot path)."""
        return rec.client.consent_at is None and rec.conversation.awaiting_consent

    async def _while_human(self, rec: Recorded, text: str, now: datetime) -> list[Reply]:
        await self._d.notifier.publish(
            ConversationEvent(EventKind.CLIENT_MESSAGE, rec.conversation.id, rec.message_id, text)
        )
        if rec.conversation.state is State.WITH_SPECIALIST or not text:
            return []
        if wants_human(text[:MAX_MATCH_CHARS]):
            return [self._already_waiting(rec, now)]
        # While waiting the bot still answers what it is sure of; the specialist sees both.
        match = self._d.faq.match(text[:MAX_MATCH_CHARS])
        if match.decision is not Decision.ANSWER:
            # Not recorded as a decision: it would count as a clarifying question or a gap in
            # the knowledge base (docs/metrics.md) for what was a word to a specialist.
            return [self._noted(rec, now)] if self._should_note(rec, match, now) else []
        await self._d.store.annotate(rec.message_id, match, self._category_of(match))
        return [self._d.replies.for_match(match, waiting=True)]

    def _should_note(self, rec: Recorded, match: MatchResult, now: datetime) -> bool:
        """«вы тут? я жду» while nobody has taken the question yet gets a word back, once in
        a while: silence reads as a broken chat. Thanks and goodbyes need none."""
        if match.smalltalk in _CLOSING_REMARKS:
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
        routing = self._d.router.route(rec.conversation.queue, rec.conversation.urgent, now)
        return self._d.replies.noted_while_waiting(routing.expected_text)

    def _category_of(self, match: MatchResult) -> str:
        best = match.best
        # A clarifying question's first option is a guess: it must not file the conversation.
        if best is None or match.decision is not Decision.ANSWER:
            return ""
        entry = self._d.faq.kb.entry(best.entry_id)
        return entry.category if entry else ""

    async def _on_action(self, action: Action, rec: Recorded, now: datetime) -> list[Reply]:
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
                return await self._ask_specialist(rec, now)
            case ActionKind.CONSENT:
                return await self._consent(rec, action.value, now)
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

    async def _requested_topic(self, rec: Recorded, text: str, now: datetime) -> Recorded:
        """«Мне нужен специалист по инвалидности» goes to the queue of that topic: the words
        after the request are matched, and a sure topic files the conversation, also over the
        topic of a question asked before; without one the earlier question's topic stays."""
        topic = topic_of_request(text[:MAX_MATCH_CHARS])
        if not topic:
            return rec
        match = self._d.faq.match(topic)
        if match.decision not in (Decision.ANSWER, Decision.CLARIFY):
            return rec  # no topic: the default queue decides
        offered = match.candidates[:1] if match.decision is Decision.ANSWER \
            else match.candidates
        categories = [entry.category for c in offered
                      if (entry := self._d.faq.kb.entry(c.entry_id)) is not None]
        # A clarification's first option files it when most options share its topic.
        if not categories or categories.count(categories[0]) * 2 <= len(categories):
            return rec
        category = categories[0]
        found = self._d.faq.kb.category(category)
        if found is not None and found.queue == self._d.router.route("", True, now).queue:
            return rec  # urgency is the crisis rules' call, never a guess from a topic
        await self._d.store.annotate(rec.message_id, None, category)
        return dataclasses.replace(
            rec, conversation=dataclasses.replace(rec.conversation, category=category))

    async def _ask_specialist(self, rec: Recorded, now: datetime) -> list[Reply]:
        if rec.client.consent_at is None:
            await self._d.store.await_consent(rec.conversation.id)
            return [self._d.replies.consent_notice(then_specialist=True)]
        return await self._escalate(rec, now, urgent=False, reason="client")

    async def _escalate(
        self, rec: Recorded, now: datetime, urgent: bool, reason: str
    ) -> list[Reply]:
        conv = rec.conversation
        if conv.state in (State.WAITING, State.WITH_SPECIALIST) and not urgent:
            return [self._already_waiting(rec, now)]
        routing = await self._hand_over(rec, now, urgent, reason)
        # The web chat reaches the client nowhere else: they must know to come back to it.
        web = rec.conversation.channel is Channel.WEB
        return [self._d.replies.escalated(routing.expected_text, web)]

    def _already_waiting(self, rec: Recorded, now: datetime) -> Reply:
        conv = rec.conversation
        if conv.state is State.WITH_SPECIALIST:
            return self._d.replies.already_with_specialist()
        # Nobody has taken it yet: out of hours nobody will until the queue opens, so the
        # client is told when, as at the hand-over itself.
        routing = self._d.router.route(conv.queue, conv.urgent, now)
        return self._d.replies.already_waiting(routing.expected_text)

    async def _hand_over(
        self, rec: Recorded, now: datetime, urgent: bool, reason: str
    ) -> Routing:
        conv = rec.conversation
        category = self._d.faq.kb.category(conv.category)
        routing = self._d.router.route(category.queue if category else "", urgent, now)
        filed = conv.category or (self._urgent_category(routing.queue) if urgent else "")
        esc = Escalation(routing.queue, filed, urgent, routing.due_at, reason)
        if await self._d.store.escalate(conv.id, esc, now):
            kind = EventKind.CRISIS if urgent else EventKind.ESCALATED
            await self._d.notifier.publish(ConversationEvent(kind, conv.id, rec.message_id))
        return routing

    def _urgent_category(self, queue: str) -> str:
        """A crisis with no topic yet is filed under the one category of the urgent queue
        (the sample's «Срочная и кризисная помощь»), so that reports by topic count it."""
        found = [c.id for c in self._d.faq.kb.categories if c.queue == queue]
        return found[0] if len(found) == 1 else ""

    async def _on_crisis(self, rec: Recorded, hit: CrisisHit, now: datetime,
                         with_file: bool = False) -> list[Reply]:
        log.warning("crisis rule %s triggered in conversation %s", hit.rule_id,
                    rec.conversation.id)
        routing = await self._hand_over(rec, now, urgent=True, reason=f"crisis:{hit.rule_id}")
        # One message, however many files: a person in crisis reads the help lines only.
        return [self._d.replies.crisis_help(hit, routing, with_file)]

    async def _consent(self, rec: Recorded, then: str, now: datetime) -> list[Reply]:
        if then == DECLINE:
            if rec.client.consent_at is not None:  # agreed before: nothing to take back here
                return [self._d.replies.menu()]
            await self._d.store.decline_consent(rec.conversation.id)
            return [self._d.replies.consent_declined()]
        await self._d.store.set_consent(rec.client.id, now, rec.client.display_name)
        # The greeting's own «Согласен(на)» pressed after asking for a person hands over too.
        if then == "specialist" or rec.conversation.awaiting_consent:
            return await self._escalate(rec, now, urgent=False, reason="client")
        return [self._d.replies.consent_accepted()]

    async def _close(self, rec: Recorded, value: str, now: datetime) -> list[Reply]:
        conv = rec.conversation
        if conv.state is State.CLOSED:
            return [self._d.replies.already_closed()]
        if value == KEEP:
            waiting = conv.state in (State.WAITING, State.WITH_SPECIALIST)
            return [self._already_waiting(rec, now) if waiting else self._d.replies.menu()]
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
