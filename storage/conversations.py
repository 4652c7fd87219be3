"""SqlConversationStore: the core's ConversationStore on SQLAlchemy."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from faq.model import MatchResult
from handlers.delivery_ports import DeliveryHandoff
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
from handlers.platform_ports import InboundLog
from handlers.ports import Annotation, Escalation, Holder
from storage.codec import to_attachments_json
from storage.conversation_reads import ConversationReads, to_client_ref, to_conversation_ref
from storage.engine import in_core_transaction
from storage.erasure import ConsentAndErasure
from storage.group_commit import GroupCommit
from storage.hot_path import OPEN_STATES, Enqueued, HotPath, Incoming, Outgoing, annotate
from storage.models import DEFAULT_INSTITUTION, Client, Conversation, Message
from storage.outbox import LEASE
from storage.transfers import QueueMoves, held_as, transferred_away_by


class SqlConversationStore(ConversationReads, ConsentAndErasure, QueueMoves):
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

    async def close(self, conversation_id: int, now: datetime, by: Author,
                    expected: Holder | None = None) -> bool:
        async with self._sessions.begin() as s:
            result = await s.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.state.in_(OPEN_STATES),
                *held_as(expected),
            ).values(state=State.CLOSED, closed_at=now, closed_by=by, last_activity_at=now))
            return bool(getattr(result, "rowcount", 0))

    async def rate(self, conversation_id: int, rating: int, now: datetime) -> bool:
        async with self._sessions.begin() as s:
            result = await s.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.state == State.CLOSED,
                Conversation.rating.is_(None)).values(rating=rating, rated_at=now))
            return bool(getattr(result, "rowcount", 0))

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
        away = not internal and await transferred_away_by(s, conv, specialist_id)
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
