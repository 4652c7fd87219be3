"""SqlDeliveryQueue and SqlClientTimeline: the outbox table and the client's view of it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.model import Author, Channel, Direction
from handlers.ports import Delivery, TimelineItem
from storage.codec import parse_buttons, parse_payload
from storage.models import Client, Message, OutboxItem

# A claimed delivery is invisible to other workers for this long; if the process dies in the
# middle of a send, the delivery becomes due again after it (at-least-once, keyed per send).
LEASE = timedelta(seconds=60)


class SqlDeliveryQueue:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim_due(self, now: datetime, limit: int) -> list[Delivery]:
        async with self._sessions.begin() as s:
            query = (select(OutboxItem).where(OutboxItem.status == "pending",
                                              OutboxItem.next_attempt_at <= now)
                     .order_by(OutboxItem.id).limit(limit))
            if s.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            items = (await s.scalars(query)).all()
            for item in items:
                item.attempts += 1
                item.next_attempt_at = now + LEASE
            return [Delivery(i.id, i.channel, i.address, parse_payload(i.payload), i.attempts,
                             i.message_id, f"out-{i.id}") for i in items]

    async def mark_sent(self, sent: Sequence[tuple[int, str]], now: datetime) -> None:
        if not sent:
            return
        async with self._sessions.begin() as s:
            for delivery_id, external_id in sent:
                item = await s.get_one(OutboxItem, delivery_id)
                item.status, item.sent_at, item.external_id = "sent", now, external_id[:64]
                await self._set_message(s, item.message_id, "sent", external_id)

    async def mark_retry(self, delivery_id: int, at: datetime, error: str) -> None:
        async with self._sessions.begin() as s:
            await s.execute(update(OutboxItem).where(OutboxItem.id == delivery_id)
                            .values(next_attempt_at=at, last_error=error[:500]))

    async def mark_failed(
        self, delivery: Delivery, now: datetime, error: str, client_blocked: bool
    ) -> int | None:
        async with self._sessions.begin() as s:
            item = await s.get_one(OutboxItem, delivery.id)
            item.status, item.last_error = "failed", error[:500]
            msg = await self._set_message(s, item.message_id, "failed", "")
            if msg is None:
                return None
            if client_blocked:
                await s.execute(update(Client).where(Client.id == msg.client_id)
                                .values(blocked_at=now))
            return msg.conversation_id

    @staticmethod
    async def _set_message(
        s: AsyncSession, message_id: int | None, status: str, external_id: str
    ) -> Message | None:
        msg = await s.get(Message, message_id) if message_id else None
        if msg is not None:
            msg.delivery = status
            if external_id:
                msg.channel_message_id = external_id[:64]
        return msg


class SqlClientTimeline:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def messages_for(
        self, channel: Channel, user_id: str, after_id: int, limit: int
    ) -> list[TimelineItem]:
        async with self._sessions() as s:
            rows = (await s.scalars(
                select(Message).join(Client, Client.id == Message.client_id)
                .where(Client.channel == channel, Client.user_id == user_id,
                       Message.id > after_id, Message.internal.is_(False))
                .order_by(Message.id).limit(limit))).all()
            return [TimelineItem(m.id, Author(m.author), m.text, parse_buttons(m.buttons),
                                 m.created_at, m.delivery if m.direction == Direction.OUT
                                 else "") for m in rows]



