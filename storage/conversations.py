"""SqlConversationStore: the core's ConversationStore on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import JSON, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from faq.model import MatchResult
from handlers.model import (
    Attachment,
    Author,
    Channel,
    ClientRef,
    ConversationRef,
    Direction,
    IncomingMessage,
    Recorded,
    Reply,
    State,
)
from handlers.ports import Annotation, Escalation, HistoryItem
from storage.codec import parse_attachments, to_attachments_json, to_buttons_json, to_payload
from storage.engine import core_transaction
from storage.files import SqlFileStore
from storage.models import (
    DEFAULT_INSTITUTION,
    Client,
    Conversation,
    InboundEvent,
    Message,
    OutboxItem,
)

OPEN_STATES = (State.BOT, State.WAITING, State.WITH_SPECIALIST)

# Prebuilt Core statements of the per-message path: an ORM round trip costs several times the
# SQLite work here (docs/benchmarks.md, "Telegram updates per second").
_clients, _conversations = cast(Table, Client.__table__), cast(Table, Conversation.__table__)
_messages, _outbox = cast(Table, Message.__table__), cast(Table, OutboxItem.__table__)
_last_conversation = (select(func.max(_conversations.c.id))
                      .where(_conversations.c.client_id == _clients.c.id)
                      .correlate(_clients).scalar_subquery())
_CLIENT_WITH_LAST_CONVERSATION = (
    select(_clients.c.id, _clients.c.display_name, _clients.c.consent_at,
           _conversations.c.id.label("conv_id"), _conversations.c.state,
           _conversations.c.category, _conversations.c.queue, _conversations.c.assigned_to,
           _conversations.c.urgent)
    .select_from(_clients.outerjoin(_conversations,
                                    _conversations.c.id == _last_conversation))
    .where(_clients.c.institution_id == bindparam("inst"),
           _clients.c.channel == bindparam("channel"),
           _clients.c.user_id == bindparam("user")))
_INSERT_CLIENT = insert(_clients).returning(_clients.c.id)
_TOUCH_CLIENT = (update(_clients).where(_clients.c.id == bindparam("b_id"))
                 .values(last_seen_at=bindparam("now"), blocked_at=None,
                         display_name=bindparam("name")))
_INSERT_CONVERSATION = insert(_conversations).returning(_conversations.c.id)
_TOUCH_CONVERSATION = (update(_conversations).where(_conversations.c.id == bindparam("b_id"))
                       .values(last_activity_at=bindparam("now")))
_INSERT_MESSAGE = insert(_messages).returning(_messages.c.id)
_INSERT_OUTBOX = insert(_outbox)
_ANNOTATE_MESSAGE = (update(_messages).where(_messages.c.id == bindparam("b_id"))
                     .values(decision=bindparam("decision"),
                             faq_entry_id=bindparam("entry"), match_score=bindparam("score"),
                             candidates=bindparam("candidates", type_=JSON)))
_SET_CATEGORY = (update(_conversations).where(
    _conversations.c.id == select(_messages.c.conversation_id)
    .where(_messages.c.id == bindparam("b_id")).scalar_subquery(),
    _conversations.c.state.in_(OPEN_STATES)).values(category=bindparam("category")))


def to_client_ref(c: Client) -> ClientRef:
    return ClientRef(c.id, Channel(c.channel), c.user_id, c.display_name, c.consent_at)


def to_conversation_ref(c: Conversation) -> ConversationRef:
    return ConversationRef(c.id, c.client_id, Channel(c.channel), State(c.state), c.category,
                           c.queue, c.assigned_to, c.urgent)


def attachments_json(msg: IncomingMessage) -> list[dict[str, str]]:
    return to_attachments_json(msg.attachments)


class SqlConversationStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 institution_id: str = DEFAULT_INSTITUTION) -> None:
        self._sessions = sessions
        self._institution = institution_id

    async def record_incoming(
        self, msg: IncomingMessage, now: datetime, open_new: bool = True
    ) -> Recorded | None:
        key = f"{msg.channel}:{msg.event_id}"
        for _attempt in range(3):
            try:
                return await self._record(msg, key, now, open_new)
            except IntegrityError:
                # A concurrent delivery of the same event, or a concurrent first message of
                # the same client: look again.
                if await self._exists(key):
                    return None
        raise RuntimeError(f"could not store message {key}")

    async def _exists(self, key: str) -> bool:
        async with self._sessions() as s:
            found = await s.scalar(select(Message.id).where(Message.dedupe_key == key))
            return found is not None

    async def _record(
        self, msg: IncomingMessage, key: str, now: datetime, open_new: bool
    ) -> Recorded | None:
        # The hot path: four Core statements in one transaction (docs/benchmarks.md). A
        # re-delivery fails on the unique dedupe key and is told apart in record_incoming.
        async with core_transaction(self._sessions) as conn:
            found = (await conn.execute(_CLIENT_WITH_LAST_CONVERSATION, {
                "inst": self._institution, "channel": msg.channel, "user": msg.user_id,
            })).first()
            name = msg.display_name[:200]
            if found is None:
                client_id = (await conn.execute(_INSERT_CLIENT, {
                    "institution_id": self._institution, "channel": msg.channel,
                    "user_id": msg.user_id, "display_name": name, "created_at": now,
                    "last_seen_at": now})).scalar_one()
            else:
                client_id, name = found.id, name or found.display_name
                await conn.execute(_TOUCH_CLIENT, {"b_id": client_id, "name": name,
                                                   "now": now})
            client = ClientRef(client_id, Channel(msg.channel), msg.user_id, name,
                               found.consent_at if found is not None else None)
            # The client's own time when the platform says it (never ahead of ours): a
            # message stored late still counts from when it was written.
            at = min(msg.sent_at, now) if msg.sent_at is not None else now
            conv = await self._conversation_core(conn, client, found, now, open_new, at)
            message_id = (await conn.execute(_INSERT_MESSAGE, {
                "institution_id": self._institution, "conversation_id": conv.id,
                "client_id": client_id, "direction": Direction.IN, "author": Author.CLIENT,
                "channel": msg.channel, "channel_message_id": msg.channel_message_id,
                "dedupe_key": key, "text": msg.text, "text_length": len(msg.text),
                "attachments": attachments_json(msg),
                "action": msg.action.to_payload() if msg.action else "", "created_at": at,
            })).scalar_one()
            return Recorded(message_id, client, conv)

    async def _conversation_core(
        self, conn: AsyncConnection, client: ClientRef, found: Any,
        now: datetime, open_new: bool, opened_at: datetime,
    ) -> ConversationRef:
        if found is not None and found.conv_id is not None and (
                found.state != State.CLOSED or not open_new):
            await conn.execute(_TOUCH_CONVERSATION, {"b_id": found.conv_id, "now": now})
            return ConversationRef(found.conv_id, client.id, client.channel, State(found.state),
                                   found.category, found.queue, found.assigned_to,
                                   bool(found.urgent))
        conv_id = (await conn.execute(_INSERT_CONVERSATION, {
            "institution_id": self._institution, "client_id": client.id,
            "channel": client.channel, "state": State.BOT, "opened_at": opened_at,
            "last_activity_at": now})).scalar_one()
        return ConversationRef(conv_id, client.id, client.channel, State.BOT, "", "")

    async def annotate(self, message_id: int, match: MatchResult | None, category: str) -> None:
        async with core_transaction(self._sessions) as conn:
            await self._annotate(conn, Annotation(message_id, match, category))

    @staticmethod
    async def _annotate(conn: AsyncConnection, annotation: Annotation) -> None:
        match = annotation.match
        if match is not None:
            best = match.best
            await conn.execute(_ANNOTATE_MESSAGE, {
                "b_id": annotation.message_id, "decision": match.decision,
                "entry": best.entry_id if best else "", "score": best.score if best else None,
                "candidates": [c.entry_id for c in match.candidates[:3]]})
        if annotation.category:
            await conn.execute(_SET_CATEGORY, {"b_id": annotation.message_id,
                                               "category": annotation.category})

    async def escalate(self, conversation_id: int, esc: Escalation, now: datetime) -> bool:
        allowed = [State.BOT] if not esc.urgent else list(OPEN_STATES)
        values: dict[str, Any] = {"state": State.WAITING, "queue": esc.queue,
                                  "urgent": esc.urgent, "due_at": esc.due_at,
                                  "escalation_reason": esc.reason[:64]}
        async with self._sessions.begin() as s:
            conv = await s.get_one(Conversation, conversation_id)
            if conv.state not in allowed or (esc.urgent and conv.urgent):
                return False
            if conv.state == State.WITH_SPECIALIST:
                values.pop("state")
            if conv.escalated_at is None:
                values["escalated_at"] = now
            if esc.category and not conv.category:
                values["category"] = esc.category
            for name, value in values.items():
                setattr(conv, name, value)
            return True

    async def close_idle(self, idle_since: datetime, now: datetime) -> int:
        """Close bot-only conversations nobody wrote in since idle_since; returns how many."""
        async with self._sessions.begin() as s:
            result = await s.execute(update(Conversation).where(
                Conversation.state == State.BOT, Conversation.last_activity_at < idle_since,
            ).values(state=State.CLOSED, closed_at=Conversation.last_activity_at,
                     closed_by=Author.SYSTEM))
            return int(getattr(result, "rowcount", 0))

    async def close(self, conversation_id: int, now: datetime, by: Author) -> bool:
        async with self._sessions.begin() as s:
            result = await s.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.state.in_(OPEN_STATES),
            ).values(state=State.CLOSED, closed_at=now, closed_by=by, last_activity_at=now))
            return bool(getattr(result, "rowcount", 0))

    async def rate(self, conversation_id: int, rating: int, now: datetime) -> bool:
        async with self._sessions.begin() as s:
            result = await s.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.state == State.CLOSED,
                Conversation.rating.is_(None)).values(rating=rating, rated_at=now))
            return bool(getattr(result, "rowcount", 0))

    async def last_closed(self, client_id: int) -> ConversationRef | None:
        async with self._sessions() as s:
            conv = await s.scalar(select(Conversation).where(
                Conversation.client_id == client_id, Conversation.state == State.CLOSED)
                .order_by(Conversation.closed_at.desc(), Conversation.id.desc()).limit(1))
            return to_conversation_ref(conv) if conv else None

    async def set_consent(self, client_id: int, now: datetime) -> None:
        async with self._sessions.begin() as s:
            await s.execute(update(Client).where(Client.id == client_id,
                                                 Client.consent_at.is_(None))
                            .values(consent_at=now))

    async def erase_client(self, client_id: int, now: datetime) -> None:
        async with self._sessions.begin() as s:
            client = await s.get_one(Client, client_id)
            await self._erase_raw_events(s, client)
            sent = await s.scalars(select(Message.attachments).where(
                Message.client_id == client_id, Message.direction == Direction.OUT))
            await SqlFileStore.delete_for(s, [a for data in sent for a in parse_attachments(data)])
            client.display_name = ""
            client.user_id = f"erased:{client.id}"
            client.consent_at = None
            client.erased_at = now
            await s.execute(update(Message).where(Message.client_id == client_id).values(
                text="", attachments=[], redacted_at=now))
            await s.execute(update(Conversation).where(
                Conversation.client_id == client_id, Conversation.state.in_(OPEN_STATES))
                .values(state=State.CLOSED, closed_at=now, closed_by=Author.CLIENT))
            await s.execute(update(OutboxItem).where(
                OutboxItem.status != "pending",
                OutboxItem.message_id.in_(select(Message.id).where(
                    Message.client_id == client_id))).values(payload={}, address=""))

    @staticmethod
    async def _erase_raw_events(s: AsyncSession, client: Client) -> None:
        """Raw platform bodies hold the client's id and texts; processed ones can go.

        Bodies are matched by the platform user id appearing in them, which may also catch
        another user whose id contains it: only raw copies of already-processed events are
        lost then, never a message (those live in the messages table).
        """
        if client.channel == Channel.WEB or not client.user_id:
            return
        await s.execute(delete(InboundEvent).where(
            InboundEvent.channel == client.channel, InboundEvent.status != "received",
            InboundEvent.raw.contains(client.user_id, autoescape=True)))

    async def enqueue(
        self, conv: ConversationRef, client: ClientRef, replies: Sequence[Reply],
        author: Author, now: datetime, specialist_id: int | None = None,
        annotation: Annotation | None = None,
    ) -> list[int]:
        async with core_transaction(self._sessions) as conn:
            if annotation is not None:
                await self._annotate(conn, annotation)
            return [await self._add_outgoing(conn, conv, client, r, author, now, specialist_id)
                    for r in replies]

    async def _add_outgoing(
        self, conn: AsyncConnection, conv: ConversationRef, client: ClientRef, reply: Reply,
        author: Author, now: datetime, specialist_id: int | None,
    ) -> int:
        message_id: int = (await conn.execute(_INSERT_MESSAGE, {
            "institution_id": self._institution, "conversation_id": conv.id,
            "client_id": client.id, "direction": Direction.OUT, "author": author,
            "specialist_id": specialist_id, "channel": client.channel, "text": reply.text,
            "text_length": len(reply.text), "buttons": to_buttons_json(reply.buttons),
            "attachments": to_attachments_json(reply.attachments),
            "faq_entry_id": reply.faq_entry_id, "delivery": "pending", "created_at": now,
        })).scalar_one()
        await conn.execute(_INSERT_OUTBOX, {
            "message_id": message_id, "channel": client.channel, "address": client.user_id,
            "payload": to_payload(reply), "next_attempt_at": now, "created_at": now})
        return message_id

    async def history(self, conversation_id: int, limit: int = 50) -> list[HistoryItem]:
        async with self._sessions() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None:
                return []
            rows = (await s.scalars(select(Message).where(Message.client_id == conv.client_id)
                                    .order_by(Message.id.desc()).limit(limit))).all()
            return [HistoryItem(m.id, Author(m.author), m.text, m.created_at, m.internal,
                                parse_attachments(m.attachments)) for m in reversed(rows)]

    async def get(self, conversation_id: int) -> tuple[ConversationRef, ClientRef] | None:
        async with self._sessions() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None:
                return None
            client = await s.get_one(Client, conv.client_id)
            return to_conversation_ref(conv), to_client_ref(client)

    async def open_conversation_of(
        self, channel: Channel, user_id: str
    ) -> ConversationRef | None:
        async with self._sessions() as s:
            conv = await s.scalar(
                select(Conversation).join(Client, Client.id == Conversation.client_id).where(
                    Client.institution_id == self._institution, Client.channel == channel,
                    Client.user_id == user_id, Conversation.state.in_(OPEN_STATES))
                .order_by(Conversation.id.desc()).limit(1))
            return to_conversation_ref(conv) if conv else None

    async def recent_incoming_ids(
        self, channel: Channel, user_id: str, limit: int
    ) -> list[str]:
        # Through the client's latest conversation, which holds their latest messages: both
        # steps use an index (the clients' unique key, ix_messages_conversation).
        latest = (select(func.max(Conversation.id))
                  .join(Client, Client.id == Conversation.client_id)
                  .where(Client.institution_id == self._institution, Client.channel == channel,
                         Client.user_id == user_id).scalar_subquery())
        async with self._sessions() as s:
            return list(await s.scalars(
                select(Message.channel_message_id)
                .where(Message.conversation_id == latest, Message.direction == Direction.IN)
                .order_by(Message.id.desc()).limit(limit)))

    async def set_blocked(
        self, channel: Channel, user_id: str, blocked: bool, now: datetime
    ) -> None:
        async with self._sessions.begin() as s:
            await s.execute(update(Client).where(
                Client.institution_id == self._institution, Client.channel == channel,
                Client.user_id == user_id).values(blocked_at=now if blocked else None))

    async def record_specialist_message(
        self, conversation_id: int, specialist_id: int | None, text: str, internal: bool,
        now: datetime, dedupe_key: str | None = None, deliver: bool = True,
        attachments: tuple[Attachment, ...] = (),
    ) -> int | None:
        try:
            async with self._sessions.begin() as s:
                return await self._specialist_message(
                    s, conversation_id, specialist_id, Reply(text, attachments=attachments),
                    internal, now, dedupe_key, deliver)
        except IntegrityError:
            return None  # the same platform event (dedupe_key) was already stored

    async def _specialist_message(
        self, s: AsyncSession, conversation_id: int, specialist_id: int | None, reply: Reply,
        internal: bool, now: datetime, dedupe_key: str | None, deliver: bool,
    ) -> int | None:
        text = reply.text
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            return None
        client = await s.get_one(Client, conv.client_id)
        if internal or not deliver:
            msg = Message(institution_id=conv.institution_id, conversation_id=conv.id,
                          client_id=client.id, direction=Direction.OUT,
                          author=Author.SPECIALIST, specialist_id=specialist_id,
                          channel=client.channel, text=text, text_length=len(text),
                          attachments=to_attachments_json(reply.attachments),
                          internal=internal, dedupe_key=dedupe_key, created_at=now,
                          delivery="" if internal else "sent")
            s.add(msg)
            await s.flush()
            if not internal:
                self._mark_human_reply(conv, specialist_id, now)
            return msg.id
        if conv.state == State.CLOSED:
            return None
        self._mark_human_reply(conv, specialist_id, now)
        message_id = await self._add_outgoing(
            await s.connection(), to_conversation_ref(conv), to_client_ref(client), reply,
            Author.SPECIALIST, now, specialist_id)
        if dedupe_key:
            await s.execute(update(Message).where(Message.id == message_id)
                            .values(dedupe_key=dedupe_key))
        return message_id

    @staticmethod
    def _mark_human_reply(conv: Conversation, specialist_id: int | None, now: datetime) -> None:
        if conv.first_specialist_reply_at is None:
            conv.first_specialist_reply_at = now
        if conv.escalated_at is None:
            conv.escalated_at = now  # a human stepped in without the bot escalating
        if conv.state != State.CLOSED:
            conv.state = State.WITH_SPECIALIST
        conv.assigned_to = conv.assigned_to or specialist_id
        conv.last_activity_at = now

    async def assign(
        self, conversation_id: int, specialist_id: int | None, only_if_free: bool
    ) -> bool:
        where = [Conversation.id == conversation_id, Conversation.state.in_(OPEN_STATES)]
        if only_if_free:
            where.append(Conversation.assigned_to.is_(None))
        async with self._sessions.begin() as s:
            # One conditional UPDATE: of two specialists taking at once exactly one matches.
            result = await s.execute(update(Conversation).where(*where)
                                     .values(assigned_to=specialist_id))
            return bool(getattr(result, "rowcount", 0))

    async def transfer(self, conversation_id: int, queue: str) -> bool:
        async with self._sessions.begin() as s:
            result = await s.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.state.in_(OPEN_STATES),
                Conversation.queue != queue).values(queue=queue, assigned_to=None))
            return bool(getattr(result, "rowcount", 0))
