"""The conversation core: stores each client message first, then answers or hands over."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from faq.model import Decision, MatchResult, SmallTalk
from faq.smalltalk import detect_smalltalk
from handlers.actions import Actions
from handlers.commands import looks_like_question, parse_command, wants_erasure
from handlers.deps import MAX_NOTED, Deps
from handlers.event_ports import ConversationEvent, EventKind
from handlers.handover import HandOver
from handlers.model import (
    Action,
    ActionKind,
    AttachmentKind,
    Author,
    Button,
    IncomingMessage,
    Recorded,
    Reply,
    State,
)
from handlers.offers import LastOffer
from handlers.person_request import wants_human
from handlers.pii import has_document_number
from handlers.ports import Annotation
from handlers.question_reading import MAX_MATCH_CHARS, read_question
from handlers.readings import readings_of
from handlers.replies import DECLINE
from handlers.typed_answers import (
    NONE_OF_THESE,
    YES,
    opens_with_consent,
    typed_choice,
    typed_consent,
)
from handlers.waiting import WhileHuman

# Decisions that leave the client without an answer: after a request for a specialist they
# read as the question for the specialist.
_UNSURE = (Decision.NO_MATCH, Decision.CLARIFY)
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


class Reception:
    """Handles one client message at a time; safe to call again for a re-delivered event."""

    def __init__(self, deps: Deps) -> None:
        self._d = deps
        self._offers = LastOffer(deps)
        self._handover = HandOver(deps)
        self._waiting = WhileHuman(deps, self._handover)
        self._actions = Actions(deps, self._handover)
        # Conversations whose client was told document numbers are not needed; per process.
        self._warned: set[int] = set()
        # (channel, user, album) → when its first message was handled; per process too.
        self._albums: dict[tuple[str, str, str], datetime] = {}

    async def handle(self, msg: IncomingMessage) -> bool:
        """Process a message; False when it was a duplicate delivery and nothing was done."""
        now = self._d.clock()
        action = msg.action or parse_command(msg.text) or await self._offers.typed_option(msg)
        action = await self._offers.unless_unasked(msg, action)
        gone = await self._offers.gone_entry_label(msg, action)
        lost_after = await self._offers.if_lost(msg, action)
        remark = None if action is not None else await self._offers.remark_while_rating(msg)
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

    async def _dispatch(
        self, rec: Recorded, msg: IncomingMessage, action: Action | None, now: datetime,
        lost_after: tuple[tuple[Button, ...], ...] | None = None,
    ) -> list[Reply]:
        if action is not None:
            return await self._actions.on_action(action, rec, now)
        text = visible_text(msg.text)
        hit = self._d.crisis.detect(text[:MAX_MATCH_CHARS]) if text else None
        if hit is not None:
            return await self._handover.on_crisis(rec, hit, now, with_file=_has_file(msg))
        readings = readings_of(text[:MAX_MATCH_CHARS]) if text else ()
        if text and wants_erasure(text[:MAX_MATCH_CHARS], readings):
            return [*self._file_received(msg, "erasure"), self._d.replies.forget_confirm()]
        if rec.conversation.state in (State.WAITING, State.WITH_SPECIALIST):
            return await self._waiting.reply(rec, text, now)
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
            return await self._handover.consent(rec, then, now)
        if typed_consent(text):
            # «согласна» typed long after the greeting's notice: taken as agreement.
            return await self._handover.consent(rec, "", now)
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
            topic = await self._handover.requested_topic(rec, text, now)
            asked = await self._handover.ask_specialist(topic, now)
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
                             Annotation(rec.message_id, match, self._d.category_of(match)))
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
        reading = read_question(self._d.faq, text[:MAX_MATCH_CHARS],
                                rec.conversation.last_answer, now)
        await self._reply_to(rec, reading.match, now, self._d.replies.for_reading(reading))

    async def _reply_to(self, rec: Recorded, match: MatchResult, now: datetime,
                        replies: list[Reply] | None = None) -> None:
        # The hot path: the judgement and the reply are written in one transaction.
        annotation = Annotation(rec.message_id, match, self._d.category_of(match))
        replies = replies or [self._d.replies.for_match(match)]
        if match.decision in _UNSURE and self._consent_pending(rec):
            # The client asked for a specialist, was asked to agree first and typed their
            # question instead: it is kept for the specialist, the consent is asked again.
            # The bot neither clarified nor failed to answer it: no decision is recorded.
            replies = [self._d.replies.consent_reminder()]
            annotation = Annotation(rec.message_id, None, "")
        await self._send(rec, replies, now, annotation)

    @staticmethod
    def _consent_pending(rec: Recorded) -> bool:
        """Whether this client asked for a specialist and was asked to agree first (read with
        the conversation itself: no query on the hot path)."""
        return rec.client.consent_at is None and rec.conversation.awaiting_consent

