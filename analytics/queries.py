"""SQLAlchemy reads for the dashboard and exports: conversations opened in a period."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, cast, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.records import (
    ConversationRecord,
    Dataset,
    Filters,
    MessageRecord,
    Period,
)
from storage.models import DEFAULT_INSTITUTION, Client, Conversation, Message, Specialist

# Messages are read in chunks of conversation ids: SQLite allows at most 32,766 parameters.
_CHUNK = 500
# The bot's message with the 1–5 buttons (storage/codec.py keeps each as "rate:<n>"): what
# was asked stays on record, as buttons outlive retention and erasure, where the texts go.
_ASKS_RATING = and_(Message.author == "bot",
                    cast(Message.buttons, Text).like('%"rate:%')).label("asks_rating")


def conversation_filter(period: Period, filters: Filters, institution: str) -> list[Any]:
    where: list[Any] = [Conversation.institution_id == institution,
                        Conversation.opened_at >= period.start,
                        Conversation.opened_at < period.end]
    if filters.channel:
        where.append(Conversation.channel == filters.channel)
    if filters.queue:
        where.append(Conversation.queue == filters.queue)
    if filters.category:
        where.append(Conversation.category == filters.category)
    return where


async def load_dataset(
    sessions: async_sessionmaker[AsyncSession], period: Period, filters: Filters,
    as_of: datetime, institution: str = DEFAULT_INSTITUTION,
    categories: dict[str, str] | None = None,
) -> Dataset:
    async with sessions() as s:
        rows = (await s.execute(
            select(Conversation, Client.created_at, Client.erased_at)
            .join(Client, Client.id == Conversation.client_id)
            .where(*conversation_filter(period, filters, institution))
            .order_by(Conversation.opened_at, Conversation.id))).all()
        messages = await _messages(s, [conv.id for conv, _, _ in rows])
        names = {i: n for i, n in await s.execute(select(Specialist.id, Specialist.display_name))}
    convs = tuple(_to_record(conv, seen, messages[conv.id], erased)
                  for conv, seen, erased in rows)
    return Dataset(period, filters, convs, {k: v or f"#{k}" for k, v in names.items()},
                   categories or {}, as_of)


async def _messages(s: AsyncSession, ids: list[int]) -> dict[int, list[MessageRecord]]:
    found: dict[int, list[MessageRecord]] = defaultdict(list)
    for i in range(0, len(ids), _CHUNK):
        result = await s.execute(
            select(Message.conversation_id, Message.author, Message.created_at,
                   Message.decision, Message.faq_entry_id, Message.internal,
                   Message.specialist_id, _ASKS_RATING)
            .where(Message.conversation_id.in_(ids[i:i + _CHUNK]))
            .order_by(Message.id))
        for row in result:
            found[row.conversation_id].append(MessageRecord(
                row.conversation_id, row.author, row.created_at, row.decision,
                row.faq_entry_id, row.internal, row.specialist_id, bool(row.asks_rating)))
    return found


def _to_record(
    c: Conversation, first_seen: datetime, messages: list[MessageRecord],
    erased_at: datetime | None = None,
) -> ConversationRecord:
    # An erasure closes the client's open conversations at the moment it blanks the client.
    return ConversationRecord(
        id=c.id, client_id=c.client_id, channel=c.channel, category=c.category, queue=c.queue,
        state=c.state, urgent=c.urgent, opened_at=c.opened_at,
        last_activity_at=c.last_activity_at, escalated_at=c.escalated_at, due_at=c.due_at,
        first_reply_at=c.first_specialist_reply_at, closed_at=c.closed_at, rating=c.rating,
        assigned_to=c.assigned_to, client_first_seen=first_seen, messages=tuple(messages),
        closed_by_erasure=c.closed_at is not None and c.closed_at == erased_at,
    )


async def filter_choices(
    sessions: async_sessionmaker[AsyncSession], institution: str = DEFAULT_INSTITUTION
) -> dict[str, list[str]]:
    """Channels, queues and categories seen in the data, for the filter drop-downs."""
    found: dict[str, list[str]] = {}
    async with sessions() as s:
        for name, column in (("channel", Conversation.channel), ("queue", Conversation.queue),
                             ("category", Conversation.category)):
            values = await s.scalars(select(column).where(
                Conversation.institution_id == institution, column != "").distinct())
            found[name] = sorted(values)
    return found
