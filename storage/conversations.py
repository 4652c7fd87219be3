"""SqlConversationStore: the core's ConversationStore on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from faq.model import MatchResult
from handlers.delivery_ports import DeliveryHandoff
from handlers.model import (
    Attachment,
    Author,
    Button,
    Channel,
    ClientRef,
    ConversationRef,
    Direction,
    IncomingMessage,
    Recorded,
    Reply,
    State,
)
from handlers.pii import mask
from handlers.platform_ports import InboundLog
from handlers.ports import Annotation, Escalation, HistoryItem
from storage.codec import parse_app, parse_attachments, parse_buttons, to_attachments_json
from storage.engine import in_core_transaction
from storage.files import SqlFileStore
from storage.group_commit import GroupCommit
from storage.hot_path import (
    HUMAN_STATES,
    OPEN_STATES,
    Enqueued,
    HotPath,
    Incoming,
    Outgoing,
    annotate,
)
from storage.models import (
    AWAITING_CONSENT,
    DEFAULT_INSTITUTION,
    AuditEntry,
    Client,
    Conversation,
    FaqSuggestion,
    InboundEvent,
    Message,
    OutboxItem,
)
from storage.outbox import LEASE
from storage.raw_names import forget_pending, masked_without_names
from storage.staff_posts import make_due

TRANSFER = "transfer:"


def to_client_ref(c: Client) -> ClientRef:
    return ClientRef(c.id, Channel(c.channel), c.user_id, c.display_name, c.consent_at,
                     parse_app(c.app_lacks))


def to_conversation_ref(c: Conversation) -> ConversationRef:
    return ConversationRef(c.id, c.client_id, Channel(c.channel), State(c.state), c.category,
                           c.queue, c.assigned_to, c.urgent,
                           c.escalation_reason == AWAITING_CONSENT)


class SqlConversationStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 institution_id: str = DEFAULT_INSTITUTION,
                 worker: DeliveryHandoff | None = None,
                 inbound: InboundLog | None = None) -> None:
        """worker: this process's outbox worker. Each committed reply is handed to it,
        leased (storage/hot_path.py); without one, replies wait in the outbox for a poll.
        inbound: the log of raw events, whose pending statuses an erasure writes first."""
        self._sessions = sessions
        self._inbound = inbound
        self._institution = institution_id
        self._worker = worker
        self._lease = LEASE if worker is not None else None
        self._hot = HotPath(institution_id)
        # Messages and replies of concurrent conversations share transactions.
        self._incoming: GroupCommit[Incoming, Recorded | None] = GroupCommit(
            self._record_batch, one=self._record_alone)
        self._outgoing: GroupCommit[Outgoing, list[int]] = GroupCommit(
            self._enqueue_batch, one=self._enqueue_alone)

    @property
    def _channels(self) -> Collection[str]:
        """The channels this process sends; a reply to another is left for a replica that
        does. Read at each write: the composition root adds channels to the worker after it
        has built the store (priemnaya/serve.py), and a copy taken in __init__ lacked them
        all, so that no Telegram or VK reply was handed over (each waited for a poll)."""
        return self._worker.channels if self._worker is not None else ()

    async def record_incoming(
        self, msg: IncomingMessage, now: datetime, open_new: bool = True
    ) -> Recorded | None:
        return await self._incoming.submit(Incoming(msg, now, open_new))

    async def _record_batch(self, items: Sequence[Incoming]) -> list[Recorded | None]:
        return list(await in_core_transaction(self._sessions, self._hot.record, items))

    async def _record_alone(self, item: Incoming) -> Recorded | None:
        """A message whose batch failed, on its own: tells a re-delivery from a race."""
        for _attempt in range(3):
            try:
                return (await in_core_transaction(self._sessions, self._hot.record, [item]))[0]
            except IntegrityError:
                # A concurrent delivery of the same event, or a concurrent first message of
                # the same client: look again.
                if await self._exists(item.key):
                    return None
        raise RuntimeError(f"could not store message {item.key}")

    async def _exists(self, key: str) -> bool:
        async with self._sessions() as s:
            found = await s.scalar(select(Message.id).where(Message.dedupe_key == key))
            return found is not None

    async def annotate(self, message_id: int, match: MatchResult | None, category: str) -> None:
        await in_core_transaction(self._sessions, annotate,
                                  [Annotation(message_id, match, category)])

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

    async def set_consent(self, client_id: int, now: datetime, display_name: str = "") -> None:
        values: dict[str, Any] = {"consent_at": now, "consent_declined": False}
        if display_name:
            values["display_name"] = display_name[:200]
        async with self._sessions.begin() as s:
            await s.execute(update(Client).where(Client.id == client_id,
                                                 Client.consent_at.is_(None)).values(values))

    async def await_consent(self, conversation_id: int) -> None:
        async with self._sessions.begin() as s:
            await s.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.state == State.BOT)
                .values(escalation_reason=AWAITING_CONSENT))

    async def decline_consent(self, conversation_id: int) -> None:
        if self._inbound is not None:
            await self._inbound.flush()  # as for an erasure: what is processed counts as such
        async with self._sessions.begin() as s:
            conv = await s.get_one(Conversation, conversation_id)
            if conv.escalation_reason == AWAITING_CONSENT and conv.state == State.BOT:
                conv.escalation_reason = ""
            rows = (await s.execute(select(Message.id, Message.text).where(
                Message.conversation_id == conversation_id, Message.direction == Direction.IN,
                Message.text != ""))).all()
            for message_id, text in rows:
                masked = mask(text, names=True)
                if masked != text:
                    await s.execute(update(Message).where(Message.id == message_id)
                                    .values(text=masked))
            client = await s.get_one(Client, conv.client_id)
            if client.consent_at is None:
                # The name came from the messenger (VK's users.get), not from the client's
                # words: without consent it is not kept either, until they agree.
                client.display_name, client.consent_declined = "", True
            if client.channel != Channel.WEB and client.user_id:
                await self._erase_raw_events(s, client.channel, client.user_id)
            # The event being processed now (the «нет» itself) is masked in place, its sender's
            # profile name blanked, its JSON still readable for a re-run.
            if client.channel != Channel.WEB and client.user_id:
                pending = (await s.execute(select(InboundEvent.id, InboundEvent.raw).where(
                    InboundEvent.channel == client.channel, InboundEvent.status == "received",
                    InboundEvent.raw.contains(client.user_id, autoescape=True)))).all()
                for event_id, raw in pending:
                    if (masked_raw := masked_without_names(raw)) != raw:
                        await s.execute(update(InboundEvent).where(InboundEvent.id == event_id)
                                        .values(raw=masked_raw))

    async def erase_client(self, client_id: int, now: datetime, by: str = "client") -> list[int]:
        if self._inbound is not None:
            # Statuses are written a moment after processing (storage/staff.py): the events
            # processed just now must count as processed, so that their raw copies go too.
            await self._inbound.flush()
        async with self._sessions.begin() as s:
            client = await s.get_one(Client, client_id)
            channel, user_id = client.channel, client.user_id
            if by == "client":  # the data subject's own request, carried out (152-ФЗ ст. 21)
                s.add(AuditEntry(institution_id=client.institution_id, at=now, actor="клиент",
                                 action="erase_self", object_type="client",
                                 object_id=str(client.id)))
            sent = await s.scalars(select(Message.attachments).where(
                Message.client_id == client_id, Message.direction == Direction.OUT))
            await SqlFileStore.delete_for(s, [a for data in sent for a in parse_attachments(data)])
            client.display_name = ""
            client.user_id = f"erased:{client.id}"
            client.consent_at = None
            client.erased_at = now
            # The client's row locked first: a message of theirs being stored now is either
            # committed before, and blanked below, or stored blank after (storage/hot_path.py).
            await s.flush()
            if channel != Channel.WEB and user_id:
                await (await s.connection()).run_sync(forget_pending, channel, user_id)
                await self._erase_raw_events(s, channel, user_id)
            await s.execute(update(Message).where(Message.client_id == client_id).values(
                text="", attachments=[], redacted_at=now))
            # Suggestions for the knowledge base quote the client's messages and the replies.
            quoting = FaqSuggestion.conversation_id.in_(
                select(Conversation.id).where(Conversation.client_id == client_id))
            await s.execute(delete(FaqSuggestion).where(quoting, FaqSuggestion.status == "new"))
            await s.execute(update(FaqSuggestion).where(quoting).values(question="", answer=""))
            await s.execute(update(Conversation).where(
                Conversation.client_id == client_id, Conversation.state.in_(OPEN_STATES))
                .values(state=State.CLOSED, closed_at=now, closed_by=Author.CLIENT))
            await self._trim_audit(s, client_id)
            # What the staff group was shown of the client goes too.
            await make_due(s, select(Conversation.id).where(Conversation.client_id == client_id),
                           now)
            await s.execute(update(OutboxItem).where(
                OutboxItem.status != "pending",
                OutboxItem.message_id.in_(select(Message.id).where(
                    Message.client_id == client_id))).values(payload={}, address=""))
            return list(await s.scalars(select(Conversation.id).where(
                Conversation.client_id == client_id).order_by(Conversation.id)))

    @staticmethod
    async def _trim_audit(s: AsyncSession, client_id: int) -> None:
        """The audit keeps who did what and when; the names of files sent to an erased client
        («message 172: Смирнов_заявление.pdf (45 B)») go, the message number stays."""
        ids = [str(i) for i in await s.scalars(
            select(Conversation.id).where(Conversation.client_id == client_id))]
        entries = (await s.execute(select(AuditEntry.id, AuditEntry.details).where(
            AuditEntry.object_type == "conversation", AuditEntry.object_id.in_(ids),
            AuditEntry.details.contains(": ")))).all()
        for entry_id, details in entries:
            await s.execute(update(AuditEntry).where(AuditEntry.id == entry_id)
                            .values(details=details.split(": ", 1)[0]))

    @staticmethod
    async def _erase_raw_events(s: AsyncSession, channel: str, user_id: str) -> None:
        """Raw platform bodies hold the client's id and texts; processed ones can go.

        Bodies are matched by the platform user id appearing in them, which may also catch
        another user whose id contains it: only raw copies of already-processed events are
        lost then, never a message (those live in the messages table).
        """
        await s.execute(delete(InboundEvent).where(
            InboundEvent.channel == channel, InboundEvent.status != "received",
            InboundEvent.raw.contains(user_id, autoescape=True)))

    async def enqueue(
        self, conv: ConversationRef, client: ClientRef, replies: Sequence[Reply],
        author: Author, now: datetime, specialist_id: int | None = None,
        annotation: Annotation | None = None,
    ) -> list[int]:
        return await self._outgoing.submit(
            Outgoing(conv, client, replies, author, now, specialist_id, annotation))

    async def _enqueue_batch(self, items: Sequence[Outgoing]) -> list[list[int]]:
        done = await in_core_transaction(self._sessions, self._hot.enqueue, items, self._lease,
                                         self._channels)
        self._hand(done)  # committed: now they may go out
        return done.message_ids

    def _hand(self, done: Enqueued) -> None:
        if (done.deliveries or done.waiting) and self._worker is not None:
            self._worker.hand(done.deliveries, done.waiting)

    async def _enqueue_alone(self, item: Outgoing) -> list[int]:
        return (await self._enqueue_batch([item]))[0]

    async def history(self, conversation_id: int, limit: int = 50) -> list[HistoryItem]:
        async with self._sessions() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None:
                return []
            rows = (await s.scalars(select(Message).where(Message.client_id == conv.client_id)
                                    .order_by(Message.id.desc()).limit(limit))).all()
            return [HistoryItem(m.id, Author(m.author), m.text, m.created_at, m.internal,
                                parse_attachments(m.attachments), m.action or "",
                                m.specialist_id)
                    for m in reversed(rows)]

    async def get(self, conversation_id: int) -> tuple[ConversationRef, ClientRef] | None:
        async with self._sessions() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None:
                return None
            client = await s.get_one(Client, conv.client_id)
            return to_conversation_ref(conv), to_client_ref(client)

    async def last_offer(self, channel: Channel, user_id: str) -> tuple[tuple[Button, ...], ...]:
        # Through the client's latest conversation, as recent_incoming_ids: both steps use an
        # index, where the client's messages have none of their own.
        async with self._sessions() as s:
            last = (await s.execute(
                select(Message.author, Message.buttons)
                .where(Message.conversation_id == self._latest_conversation(channel, user_id),
                       Message.internal.is_(False))
                .order_by(Message.id.desc()).limit(1))).first()
        return parse_buttons(last.buttons) if last and last.author == Author.BOT else ()

    def _latest_conversation(self, channel: Channel, user_id: str) -> Any:
        return (select(func.max(Conversation.id))
                .join(Client, Client.id == Conversation.client_id)
                .where(Client.institution_id == self._institution, Client.channel == channel,
                       Client.user_id == user_id).scalar_subquery())

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
        latest = self._latest_conversation(channel, user_id)
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
        handed: list[Enqueued] = []
        try:
            async with self._sessions.begin() as s:
                message_id = await self._specialist_message(
                    s, conversation_id, specialist_id, Reply(text, attachments=attachments),
                    internal, now, dedupe_key, deliver, handed)
        except IntegrityError:
            return None  # the same platform event (dedupe_key) was already stored
        for done in handed:
            self._hand(done)
        return message_id

    async def _specialist_message(
        self, s: AsyncSession, conversation_id: int, specialist_id: int | None, reply: Reply,
        internal: bool, now: datetime, dedupe_key: str | None, deliver: bool,
        handed: list[Enqueued],
    ) -> int | None:
        text = reply.text
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            return None
        client = await s.get_one(Client, conv.client_id)
        # Refused, not silently taken back: the new queue may be about to answer. A reply
        # already sent on the platform itself is kept, and the conversation stays where it is.
        away = not internal and await _transferred_away(s, conv, specialist_id)
        if away and deliver:
            return None
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
            if not internal and not away:
                self._mark_human_reply(conv, specialist_id, now)
            return msg.id
        if conv.state == State.CLOSED:
            return None
        self._mark_human_reply(conv, specialist_id, now)
        ref = to_client_ref(client)
        done = await (await s.connection()).run_sync(self._hot.enqueue, [Outgoing(
            to_conversation_ref(conv), ref, [reply.for_app(ref.app)], Author.SPECIALIST, now,
            specialist_id)], self._lease, self._channels)
        [[message_id]] = done.message_ids
        handed.append(done)  # handed over once the transaction has committed
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
        values: dict[str, Any] = {"assigned_to": specialist_id}
        if specialist_id is None:
            # Released: back in its queue's waiting list, not «в работе» with nobody.
            values["state"] = case((Conversation.state == State.WITH_SPECIALIST, State.WAITING),
                                   else_=Conversation.state)
        async with self._sessions.begin() as s:
            # One conditional UPDATE: of two specialists taking at once exactly one matches.
            result = await s.execute(update(Conversation).where(*where).values(values))
            return bool(getattr(result, "rowcount", 0))

    async def transfer(
        self, conversation_id: int, queue: str, specialist_id: int | None, now: datetime
    ) -> bool:
        """Back to waiting, unassigned, in the new queue; the move is kept in the history.

        The first-reply clock keeps running from the hand-over (escalated_at): the client has
        waited since then, and a transfer must not hide a missed target. The reminder mark is
        cleared so that the new queue's members get a reminder of their own.
        """
        async with self._sessions.begin() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None or conv.state not in HUMAN_STATES or conv.queue == queue:
                return False
            source = conv.queue
            result = await s.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.queue == source,
                Conversation.state.in_(HUMAN_STATES)).values(
                queue=queue, assigned_to=None, state=State.WAITING, reminded_at=None))
            if not getattr(result, "rowcount", 0):
                return False  # another transfer or a close got there first
            s.add(Message(institution_id=conv.institution_id, conversation_id=conv.id,
                          client_id=conv.client_id, direction=Direction.OUT,
                          author=Author.SYSTEM, specialist_id=specialist_id,
                          channel=conv.channel, text="", internal=True,
                          action=transfer_action(source, queue), created_at=now))
            return True

    async def transferred_away(self, conversation_id: int, specialist_id: int | None) -> bool:
        async with self._sessions() as s:
            conv = await s.get(Conversation, conversation_id)
            return conv is not None and await _transferred_away(s, conv, specialist_id)


def transfer_action(source: str, target: str) -> str:
    """How a transfer is kept in the history: "transfer:<from queue>><to queue>"."""
    return f"{TRANSFER}{source}>{target}"


async def _transferred_away(s: AsyncSession, conv: Conversation,
                            specialist_id: int | None) -> bool:
    """Still unassigned in the queue this specialist moved it to: not theirs to answer."""
    if specialist_id is None or conv.assigned_to is not None or conv.state != State.WAITING:
        return False
    by = (await s.execute(select(Message.specialist_id).where(
        Message.conversation_id == conv.id, Message.author == Author.SYSTEM,
        Message.action.startswith(TRANSFER)).order_by(Message.id.desc()).limit(1))).first()
    return by is not None and by.specialist_id == specialist_id
