"""How long a hand-over has waited and how much of its reply target is left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.routing import REMINDER_SHARE, QueueDirectory
from storage.desk_queries import DeskRow


@dataclass(frozen=True, slots=True)
class Timing:
    """Minutes for the templates to word; level is "", ok, warn (80%), late or answered."""

    waiting_minutes: int
    left_minutes: int
    level: str


def minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def timing_of(row: DeskRow, directory: QueueDirectory, now: datetime) -> Timing:
    if row.escalated_at is None:
        return Timing(0, 0, "")
    waiting = minutes(now - row.escalated_at)
    if row.first_reply_at is not None:
        return Timing(minutes(row.first_reply_at - row.escalated_at), 0, "answered")
    queue = directory.queue_for(row.queue)
    target = queue.target(row.urgent)
    used = queue.calendar.working_between(row.escalated_at, now)
    progress = used / target
    level = ("late" if progress >= 1 or row.breached_at is not None
             else "warn" if progress >= REMINDER_SHARE else "ok")
    return Timing(waiting, minutes(target - used), level)

