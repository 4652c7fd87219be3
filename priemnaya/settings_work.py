"""Settings of working time, specialists' queues and crisis rules, and their builders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from handlers.routing import Queue, QueueDirectory
from handlers.worktime import Weekday, WeeklyHours, WorkCalendar, parse_day_hours

_LONG_DAY = "08:30-17:30"
DEFAULT_HOURS = {"mon": _LONG_DAY, "tue": _LONG_DAY, "wed": _LONG_DAY, "thu": _LONG_DAY,
                 "fri": "08:30-16:15"}  # fmt: skip


def to_weekly_hours(hours: Mapping[str, str]) -> WeeklyHours:
    """Weekdays not named are days off; errors name the key and the value."""
    names = ", ".join(Weekday)
    days = {}
    for key, text in hours.items():
        if key not in list(Weekday):
            raise ValueError(f"hours: unknown weekday {key!r}, use {names}")
        try:
            days[Weekday(key)] = parse_day_hours(text)
        except ValueError as exc:
            raise ValueError(f"hours.{key}: {exc}") from None
    try:
        return WeeklyHours.from_mapping(days)
    except ValueError as exc:
        raise ValueError(f"hours.{exc}") from None


class CalendarSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = "Asia/Yekaterinburg"
    # "08:30-12:30,13:15-17:30": a lunch break is two intervals; "" or a missing day is off.
    hours: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_HOURS))
    extra_days_off: list[date] = Field(default_factory=list)
    extra_working_days: list[date] = Field(default_factory=list)
    short_pre_holiday: bool = True
    # A transferred working Saturday (2025-11-01) works the hours of this weekday.
    transferred_day_hours: Weekday = Weekday.FRI

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone: unknown zone {value!r}, e.g. 'Asia/Yekaterinburg'"
            ) from None
        return value

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, str]) -> dict[str, str]:
        to_weekly_hours(value)
        return value

    @model_validator(mode="after")
    def _no_day_both_off_and_working(self) -> CalendarSettings:
        clash = sorted(set(self.extra_days_off) & set(self.extra_working_days))
        if clash:
            days = ", ".join(map(date.isoformat, clash))
            raise ValueError(f"extra_days_off and extra_working_days both list {days}")
        return self


class QueueSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = Field(min_length=1)
    members: list[str] = Field(default_factory=list)
    # Overrides the calendar's hours day by day; other days keep the calendar's hours.
    hours: dict[str, str] | None = None
    first_reply_hours: float = Field(default=9, gt=0)
    urgent_hours: float = Field(default=4, gt=0)
    # New hand-overs go to the least-loaded member on duty (working time of this queue).
    auto_assign: bool = False

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None:
            to_weekly_hours(value)
        return value


class CrisisSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules_path: Path = Path("config/crisis_rules.yaml")
    urgent_queue: str = "urgent"


def build_calendar(
    settings: CalendarSettings, hours: Mapping[str, str] | None = None
) -> WorkCalendar:
    return WorkCalendar(
        ZoneInfo(settings.timezone),
        to_weekly_hours({**settings.hours, **(hours or {})}),
        frozenset(settings.extra_days_off),
        frozenset(settings.extra_working_days),
        short_pre_holiday=settings.short_pre_holiday,
        transferred_day_hours=settings.transferred_day_hours,
    )


def build_queue_directory(
    calendar: CalendarSettings,
    queues: list[QueueSettings],
    default_queue: str,
    urgent_queue: str | None = None,
) -> QueueDirectory:
    """Queues without their own hours share one calendar, and so its cache."""
    _check_queue_ids(queues, default_queue, urgent_queue)
    shared = build_calendar(calendar)
    return QueueDirectory(
        [
            _build_queue(q, build_calendar(calendar, q.hours) if q.hours else shared)
            for q in queues
        ],
        default_queue_id=default_queue,
        urgent_queue_id=urgent_queue,
    )


def _check_queue_ids(
    queues: list[QueueSettings], default_queue: str, urgent_queue: str | None
) -> None:
    ids = [q.id for q in queues]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise ValueError(f"queues: id {twice[0]!r} is used twice")
    for key, value in (("default_queue", default_queue), ("crisis.urgent_queue", urgent_queue)):
        if value is not None and value not in ids:
            raise ValueError(f"{key}: {value!r} is not a queue id, known: {', '.join(ids)}")


def _build_queue(settings: QueueSettings, calendar: WorkCalendar) -> Queue:
    return Queue(
        id=settings.id,
        title=settings.title,
        members=tuple(settings.members),
        calendar=calendar,
        first_reply_target=timedelta(hours=settings.first_reply_hours),
        urgent_target=timedelta(hours=settings.urgent_hours),
        auto_assign=settings.auto_assign,
    )
