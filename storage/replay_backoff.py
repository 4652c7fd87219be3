"""When an event left unprocessed is replayed again, and which ones an administrator sees."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import InboundEvent

log = logging.getLogger(__name__)

# The replay job runs every minute; an event that a lasting outage (a table locked by a long
# migration, a broken replica) keeps failing is tried after 1, 2, 4 ... minutes, then hourly:
# never given up, since it may be the client's only message.
FIRST_PAUSE = timedelta(minutes=1)
MAX_PAUSE = timedelta(hours=1)
# Five replays span half an hour of failures: no longer a blip, an administrator is shown it.
ATTENTION_AFTER = 5
SHOWN = 20


def pause_after(attempts: int) -> timedelta:
    """How long the replay waits after its attempts-th try of an event failed."""
    return min(FIRST_PAUSE * (1 << min(max(attempts - 1, 0), 12)), MAX_PAUSE)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(InboundEvent.retry_at.is_(None), InboundEvent.retry_at <= now)


async def claim_due(session: AsyncSession, channel: str, before: datetime, now: datetime,
                    limit: int) -> list[str]:
    """The raw bodies of the events due for a replay, each counted as one more attempt.

    The count and the next due time are written before the replay runs: an event that
    crashes the process is not replayed in a loop, and of two replicas only one takes it.
    """
    rows = (await session.execute(select(InboundEvent.id, InboundEvent.attempts).where(
        InboundEvent.channel == channel, InboundEvent.status == "received",
        InboundEvent.received_at < before, _due(now))
        .order_by(InboundEvent.id).limit(limit))).all()
    raws = []
    for event_id, attempts in rows:
        raw = await session.scalar(
            update(InboundEvent).where(InboundEvent.id == event_id,
                                       InboundEvent.status == "received", _due(now))
            .values(attempts=attempts + 1, retry_at=now + pause_after(attempts + 1))
            .returning(InboundEvent.raw).execution_options(synchronize_session=False))
        if raw is None:
            continue  # finished or taken by another replica in the meantime
        if attempts + 1 == ATTENTION_AFTER:
            log.error("a %s event was replayed %s times and is still not processed",
                      channel, ATTENTION_AFTER)
        raws.append(raw)
    return raws


@dataclass(frozen=True, slots=True)
class StuckEvent:
    """A client's event the replay keeps failing to process: for an administrator to see."""

    channel: str
    received_at: datetime
    attempts: int
    error: str  # the last failure's first line


@dataclass(frozen=True, slots=True)
class StuckEvents:
    count: int
    oldest: tuple[StuckEvent, ...]


async def stuck_events(sessions: async_sessionmaker[AsyncSession]) -> StuckEvents:
    """The events replayed ATTENTION_AFTER times in vain: how many, and the oldest of them."""
    stuck = (InboundEvent.status == "received", InboundEvent.attempts >= ATTENTION_AFTER)
    async with sessions() as s:
        count = await s.scalar(select(func.count()).select_from(InboundEvent).where(*stuck))
        if not count:
            return StuckEvents(0, ())
        rows = (await s.execute(select(
            InboundEvent.channel, InboundEvent.received_at, InboundEvent.attempts,
            InboundEvent.error).where(*stuck).order_by(InboundEvent.id).limit(SHOWN))).all()
    return StuckEvents(int(count), tuple(
        StuckEvent(c, at, int(n), e.partition("\n")[0][:200]) for c, at, n, e in rows))
