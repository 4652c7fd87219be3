"""Queues of specialists, reply targets in working time and what to promise the client."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from handlers.worktime import WorkCalendar

DEFAULT_FIRST_REPLY_TARGET = timedelta(hours=9)
DEFAULT_URGENT_TARGET = timedelta(hours=4)
# Specialists get a reminder once 80% of the target is used, while there is still time to answer.
REMINDER_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class Queue:
    id: str
    title: str
    members: tuple[str, ...]
    calendar: WorkCalendar
    first_reply_target: timedelta = DEFAULT_FIRST_REPLY_TARGET
    urgent_target: timedelta = DEFAULT_URGENT_TARGET
    auto_assign: bool = False  # hand new conversations to the least-loaded member on duty

    def __post_init__(self) -> None:
        for name in ("first_reply_target", "urgent_target"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"queue {self.id!r}: {name} must be positive")

    def target(self, urgent: bool) -> timedelta:
        return self.urgent_target if urgent else self.first_reply_target


@dataclass(frozen=True, slots=True)
class UnroutedCategory:
    """A knowledge-base category naming a queue the settings lack: its hand-overs wait in the
    default queue."""

    category: str
    title: str
    queue: str
    default_queue: str
    default_title: str

    def __str__(self) -> str:
        return (f"category {self.category!r} names queue {self.queue!r}, which settings.queues "
                f"does not list: its hand-overs go to {self.default_queue!r}")


@dataclass(frozen=True, slots=True)
class MemberWithoutAccount:
    """A queue member whose login has no active staff account: a typo in the settings, or an
    account not made yet or disabled; nobody by that name sees or is given its hand-overs."""

    queue: str
    title: str
    login: str

    def __str__(self) -> str:
        return (f"queue {self.queue!r} lists member {self.login!r}, who has no active staff "
                "account: create it (priemnaya user add) or correct settings.queues")


def members_without_account(
    queues: Iterable[Queue], active: Collection[str]
) -> list[MemberWithoutAccount]:
    return [MemberWithoutAccount(q.id, q.title, login)
            for q in queues for login in q.members if login not in active]


@dataclass(frozen=True, slots=True)
class Routing:
    """Where a hand-over goes and by when, all datetimes in the institution's zone."""

    queue_id: str
    urgent: bool
    due_at: datetime
    in_hours: bool
    answer_expected_from: datetime


class QueueDirectory:
    """All queues by id; unknown or empty ids fall back to the default queue."""

    __slots__ = ("_queues", "default_queue_id", "urgent_queue_id")

    def __init__(
        self, queues: Iterable[Queue], default_queue_id: str, urgent_queue_id: str | None = None
    ) -> None:
        self._queues: dict[str, Queue] = {}
        for queue in queues:
            if queue.id in self._queues:
                raise ValueError(f"queue id {queue.id!r} is used twice")
            self._queues[queue.id] = queue
        for role, queue_id in (("default", default_queue_id), ("urgent", urgent_queue_id)):
            if queue_id is not None and queue_id not in self._queues:
                raise ValueError(f"{role} queue {queue_id!r} is not among {sorted(self._queues)}")
        self.default_queue_id = default_queue_id
        self.urgent_queue_id = urgent_queue_id

    def titles(self) -> dict[str, str]:
        """Queue id → the title staff read (admin pages, exports)."""
        return {q.id: q.title for q in self._queues.values()}

    @property
    def queues(self) -> tuple[Queue, ...]:
        return tuple(self._queues.values())

    def queue_for(self, queue_id: str | None) -> Queue:
        return self._queues.get(queue_id or "", self._queues[self.default_queue_id])

    def route(self, queue_id: str | None, urgent: bool, now: datetime) -> Routing:
        """Urgent hand-overs go to the urgent queue when there is one, whatever the topic."""
        if urgent and self.urgent_queue_id is not None:
            queue_id = self.urgent_queue_id
        queue = self.queue_for(queue_id)
        calendar = queue.calendar
        return Routing(
            queue_id=queue.id,
            urgent=urgent,
            due_at=calendar.add_working(now, queue.target(urgent)),
            in_hours=calendar.is_working_time(now),
            answer_expected_from=calendar.next_working_start(now),
        )


def target_of(queue: Queue, opened_at: datetime, urgent: bool,
              due_at: datetime | None = None) -> timedelta:
    """The working time a hand-over was given: up to the deadline kept at the hand-over, so a
    target changed later moves neither the desk nor the reminders away from what the reports
    count (analytics.metrics.in_time); the queue's current target for a row without one."""
    if due_at is None:
        return queue.target(urgent)
    return queue.calendar.working_between(opened_at, due_at)


def target_progress(queue: Queue, opened_at: datetime, now: datetime, urgent: bool,
                    due_at: datetime | None = None) -> float:
    """The share of the reply target used so far, counted in working time; 1.0 is the deadline."""
    target = target_of(queue, opened_at, urgent, due_at)
    if target <= timedelta(0):
        return 1.0  # a deadline kept at or before the hand-over is due at once
    return queue.calendar.working_between(opened_at, now) / target


def reminder_due(queue: Queue, opened_at: datetime, now: datetime, urgent: bool,
                 due_at: datetime | None = None) -> bool:
    return REMINDER_SHARE <= target_progress(queue, opened_at, now, urgent, due_at) < 1.0


def breached(queue: Queue, opened_at: datetime, now: datetime, urgent: bool,
             due_at: datetime | None = None) -> bool:
    return target_progress(queue, opened_at, now, urgent, due_at) >= 1.0


class ExpectedKind(StrEnum):
    WITHIN_HOURS = "within_hours"
    TODAY = "today"
    TOMORROW = "tomorrow"
    ON_DATE = "on_date"


@dataclass(frozen=True, slots=True)
class Moment:
    """Calendar parts of a local datetime, so that templates can word it without Python text."""

    at: datetime
    days_ahead: int
    weekday: int
    day: int
    month: int
    hour: int
    minute: int

    @classmethod
    def of(cls, at: datetime, now: datetime) -> Moment:
        local_now = now.astimezone(at.tzinfo)
        return cls(
            at=at,
            days_ahead=(at.date() - local_now.date()).days,
            weekday=at.weekday(),
            day=at.day,
            month=at.month,
            hour=at.hour,
            minute=at.minute,
        )


@dataclass(frozen=True, slots=True)
class ExpectedReply:
    """What the client may honestly expect; rendered by templates/messages/expected_reply.j2."""

    kind: ExpectedKind
    start: Moment
    due: Moment


def describe_expected(routing: Routing, now: datetime) -> ExpectedReply:
    start = Moment.of(routing.answer_expected_from, now)
    return ExpectedReply(
        kind=_kind(routing.in_hours, start.days_ahead),
        start=start,
        due=Moment.of(routing.due_at, now),
    )


def _kind(in_hours: bool, days_ahead: int) -> ExpectedKind:
    if in_hours:
        return ExpectedKind.WITHIN_HOURS
    if days_ahead == 0:
        return ExpectedKind.TODAY
    return ExpectedKind.TOMORROW if days_ahead == 1 else ExpectedKind.ON_DATE
