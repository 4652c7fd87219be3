"""How long a hand-over has waited and how much of its reply target is left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.routing import REMINDER_SHARE, QueueDirectory, target_of
from storage.desk_queries import DeskRow


@dataclass(frozen=True, slots=True)
class Timing:
    """Minutes for the templates to word; level is "", ok, warn (80%), late, answered or
    closed (unanswered: the client cancelled, was erased, or it was closed on the desk)."""

    waiting_minutes: int
    left_minutes: int
    level: str


def minutes(delta: timedelta) -> int:
    """Whole minutes toward zero, both ways: 50 s over the target reads «просрочено на 0 мин»
    beside «ждёт 0 мин», never «на 1 мин» (a floor would round the overdue time up)."""
    return int(delta.total_seconds() / 60)


def timing_of(row: DeskRow, directory: QueueDirectory, now: datetime) -> Timing:
    if row.escalated_at is None:
        return Timing(0, 0, "")
    waiting = minutes(now - row.escalated_at)
    if row.first_reply_at is not None:
        return Timing(minutes(row.first_reply_at - row.escalated_at), 0, "answered")
    if row.closed_at is not None:
        # Nobody waits any more: no clock runs to a target that can no longer be missed.
        return Timing(minutes(row.closed_at - row.escalated_at), 0, "closed")
    queue = directory.queue_for(row.queue)
    target = target_of(queue, row.escalated_at, row.urgent, row.due_at)
    used = queue.calendar.working_between(row.escalated_at, now)
    progress = used / target if target > timedelta(0) else 1.0
    level = ("late" if progress >= 1 or row.breached_at is not None
             else "warn" if progress >= REMINDER_SHARE else "ok")
    left = minutes(target - used)
    # Marked breached by the reminder job yet not over the target by this calendar: not «late
    # by» the time still left.
    return Timing(waiting, min(left, 0) if level == "late" else left, level)

