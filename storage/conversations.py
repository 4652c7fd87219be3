"""SqlConversationStore: the core's ConversationStore on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from faq.model import MatchResult
from handlers.model import (
    Attachment,
    AttachmentKind,
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
from handlers.ports import Escalation, HistoryItem
from storage.codec import to_buttons_json, to_payload
from storage.models import (
    DEFAULT_INSTITUTION,
    Client,
    Conversation,
    InboundEvent,
    Message,
    OutboxItem,
)

OPEN_STATES = (State.BOT, State.WAITING, State.WITH_SPECIALIST)


def to_client_ref(c: Client) -> ClientRef:
    return ClientRef(c.id, Channel(c.channel), c.user_id, c.display_name, c.consent_at)


def to_conversation_ref(c: Conversation) -> ConversationRef:
    return ConversationRef(c.id, c.client_id, Channel(c.channel), State(c.state), c.category,
                           c.queue, c.assigned_to, c.urgent)


def parse_attachments(data: object) -> tuple[Attachment, ...]:
    found = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and item.get("kind") in set(AttachmentKind):
            found.append(Attachment(AttachmentKind(item["kind"]), str(item.get("ref", "")),
                                    str(item.get("name", ""))))
    return tuple(found)


def attachments_json(msg: IncomingMessage) -> list[dict[str, str]]:
    return [{"kind": a.kind, "ref": a.ref, "name": a.name} for a in msg.attachments]


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
        async with self._sessions.begin() as s:
            if await s.scalar(select(Message.id).where(Message.dedupe_key == key)):
                return None
            client = await self._client(s, msg, now)
            conv = await self._conversation(s, client, now, open_new)
            row = Message(
                institution_id=self._institution, conversation_id=conv.id, client_id=client.id,
                direction=Direction.IN, author=Author.CLIENT, channel=msg.channel,
                channel_message_id=msg.channel_message_id, dedupe_key=key, text=msg.text,
                text_length=len(msg.text), attachments=attachments_json(msg),
                action=msg.action.to_payload() if msg.action else "", created_at=now,
            )
            s.add(row)
            conv.last_activity_at = now
            await s.flush()
            return Recorded(row.id, to_client_ref(client), to_conversation_ref(conv))

    async def _client(self, s: AsyncSession, msg: IncomingMessage, now: datetime) -> Client:
        client = await s.scalar(select(Client).where(
            Client.institution_id == self._institution, Client.channel == msg.channel,
            Client.user_id == msg.user_id))
        if client is None:
            client = Client(institution_id=self._institution, channel=msg.channel,
                            user_id=msg.user_id, display_name=msg.display_name[:200],
                            created_at=now, last_seen_at=now)
            s.add(client)
            await s.flush()
        else:
            client.last_seen_at = now
            client.blocked_at = None
            if msg.display_name:
                client.display_name = msg.display_name[:200]
        return client

    async def _conversation(
        self, s: AsyncSession, client: Client, now: datetime, open_new: bool
    ) -> Conversation:
        conv = await s.scalar(select(Conversation).where(Conversation.client_id == client.id)
                              .order_by(Conversation.id.desc()).limit(1))
        if conv is not None and (conv.state != State.CLOSED or not open_new):
            return conv
        conv = Conversation(institution_id=self._institution, client_id=client.id,
                            channel=client.channel, state=State.BOT, opened_at=now,
                            last_activity_at=now)
        s.add(conv)
        await s.flush()
        return conv

    async def annotate(self, message_id: int, match: MatchResult | None, category: str) -> None:
        async with self._sessions.begin() as s:
            msg = await s.get_one(Message, message_id)
            if match is not None:
                best = match.best
                msg.decision = match.decision
                msg.faq_entry_id = best.entry_id if best else ""
                msg.match_score = best.score if best else None
                msg.candidates = [c.entry_id for c in match.candidates[:3]]
            if category:
                await s.execute(update(Conversation).where(
                    Conversation.id == msg.conversation_id,
                    Conversation.state.in_(OPEN_STATES)).values(category=category))

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
    ) -> list[int]:
        async with self._sessions.begin() as s:
            return [await self._add_outgoing(s, conv, client, r, author, now, specialist_id)
                    for r in replies]

    async def _add_outgoing(
        self, s: AsyncSession, conv: ConversationRef, client: ClientRef, reply: Reply,
        author: Author, now: datetime, specialist_id: int | None,
    ) -> int:
        msg = Message(
            institution_id=self._institution, conversation_id=conv.id, client_id=client.id,
            direction=Direction.OUT, author=author, specialist_id=specialist_id,
            channel=client.channel, text=reply.text, text_length=len(reply.text),
            buttons=to_buttons_json(reply.buttons), faq_entry_id=reply.faq_entry_id,
            delivery="pending", created_at=now,
        )
        s.add(msg)
        await s.flush()
        s.add(OutboxItem(message_id=msg.id, channel=client.channel, address=client.user_id,
                         payload=to_payload(reply), next_attempt_at=now, created_at=now))
        return msg.id

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
    ) -> int | None:
        try:
            async with self._sessions.begin() as s:
                return await self._specialist_message(
                    s, conversation_id, specialist_id, text, internal, now, dedupe_key, deliver)
        except IntegrityError:
            return None  # the same platform event (dedupe_key) was already stored

    async def _specialist_message(
        self, s: AsyncSession, conversation_id: int, specialist_id: int | None, text: str,
        internal: bool, now: datetime, dedupe_key: str | None, deliver: bool,
    ) -> int | None:
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            return None
        client = await s.get_one(Client, conv.client_id)
        if internal or not deliver:
            msg = Message(institution_id=conv.institution_id, conversation_id=conv.id,
                          client_id=client.id, direction=Direction.OUT,
                          author=Author.SPECIALIST, specialist_id=specialist_id,
                          channel=client.channel, text=text, text_length=len(text),
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
            s, to_conversation_ref(conv), to_client_ref(client), Reply(text),
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
