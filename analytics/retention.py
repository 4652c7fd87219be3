"""Retention: raw texts are erased after a number of days while every metric stays, and what
the staff group was shown of them is deleted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.model import State
from handlers.outage_log import OutageLog
from storage.models import (
    Client,
    Conversation,
    FaqSuggestion,
    InboundEvent,
    Message,
    OutboxItem,
    StoredFile,
)
from storage.staff_posts import make_due
from storage.wal import truncate_wal

log = logging.getLogger(__name__)
RUN_EVERY = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Purged:
    messages: int
    inbound_events: int
    deliveries: int
    files: int = 0
    suggestions: int = 0
    names: int = 0  # messenger names of clients not seen since the cut-off
    staff_posts: int = 0  # posts and topics in the staff group, now due for deletion


def _live_conversations(cutoff: datetime) -> Select[int]:
    """Conversations still going or active since the cut-off keep every text, however old a
    message's date: a specialist may be reading them, and an erased half would read wrong."""
    return select(Conversation.id).where(
        (Conversation.state != State.CLOSED) | (Conversation.last_activity_at >= cutoff))


def _count(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def purge_raw_texts(
    sessions: async_sessionmaker[AsyncSession], now: datetime, days: int,
    dry_run: bool = False,
) -> Purged:
    """Blank texts older than `days`; text_length, decisions and timestamps are kept.

    dry_run: the same statements in a transaction rolled back, for the counts alone.
    """
    cutoff = now - timedelta(days=days)
    async with sessions() as s, s.begin() as transaction:
        messages = await s.execute(update(Message).where(
            Message.created_at < cutoff, Message.redacted_at.is_(None),
            Message.conversation_id.not_in(_live_conversations(cutoff)),
        ).values(text="", attachments=[], redacted_at=now))
        # Raw platform events and delivered payloads hold the same texts.
        events = await s.execute(update(InboundEvent).where(
            InboundEvent.received_at < cutoff, InboundEvent.raw != "").values(raw=""))
        deliveries = await s.execute(update(OutboxItem).where(
            OutboxItem.created_at < cutoff, OutboxItem.status != "pending",
        ).values(payload={}))
        # Files sent from the desk, by when they were sent: their messages went above.
        files = await s.execute(delete(StoredFile).where(StoredFile.created_at < cutoff))
        # A suggestion quotes a client's message and the reply to it: an unreviewed one goes,
        # a reviewed one keeps its status and entry id (what the knowledge base took is there).
        dropped = await s.execute(delete(FaqSuggestion).where(
            FaqSuggestion.created_at < cutoff, FaqSuggestion.status == "new"))
        blanked = await s.execute(update(FaqSuggestion).where(
            FaqSuggestion.created_at < cutoff,
            (FaqSuggestion.question != "") | (FaqSuggestion.answer != ""),
        ).values(question="", answer=""))
        # A client's messenger name is personal data too; their next message brings it back.
        names = await s.execute(update(Client).where(
            Client.last_seen_at < cutoff, Client.display_name != "").values(display_name=""))
        # The staff group holds the same texts: a conversation past the cut-off has had all of
        # them blanked, now or by an earlier run, so its posts go as with an erasure.
        staff_posts = await make_due(s, select(Conversation.id).where(
            Conversation.id.not_in(_live_conversations(cutoff))), now)
        if dry_run:
            await transaction.rollback()
    purged = Purged(_count(messages), _count(events), _count(deliveries), _count(files),
                    _count(dropped) + _count(blanked), _count(names), staff_posts)
    if not dry_run and any(astuple(purged)):
        await truncate_wal(sessions)
    return purged


def build_retention_job(
    sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime], days: int,
    every: timedelta = RUN_EVERY,
) -> Callable[[], Coroutine[Any, Any, None]]:
    """A coroutine factory for Runtime.background: purges now, then once per `every`."""

    async def retention() -> None:
        outage = OutageLog(log, "retention run")
        while True:
            try:
                purged = await purge_raw_texts(sessions, clock(), days)
                if purged.messages or purged.staff_posts:
                    log.info("retention: erased the text of %d messages; %d staff group posts "
                             "due for deletion", purged.messages, purged.staff_posts)
                outage.succeeded()
            except Exception as exc:
                # A failed run (database briefly away) is retried at the next tick.
                outage.failed(exc)
            await asyncio.sleep(every.total_seconds())

    return retention
