"""Settings of working time and queues: defaults, builders and validation messages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from handlers.worktime import Weekday
from priemnaya.settings_work import (
    CalendarSettings,
    CrisisSettings,
    QueueSettings,
    build_queue_directory,
)
from tests.handlers.conftest import EKB


def error_of(model: type[CalendarSettings | QueueSettings], **data: Any) -> str:
    with pytest.raises(ValidationError) as info:
        model(**data)
    (error,) = info.value.errors()
    return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


def test_defaults() -> None:
    calendar = CalendarSettings()
    assert calendar.timezone == "Asia/Yekaterinburg"
    assert calendar.hours["fri"] == "08:30-16:15"
    assert calendar.short_pre_holiday
    assert calendar.transferred_day_hours is Weekday.FRI
    queue = QueueSettings(id="general", title="Общие вопросы")
    assert (queue.first_reply_hours, queue.urgent_hours, queue.members) == (9, 4, [])
    assert CrisisSettings() == CrisisSettings(
        rules_path=Path("config/crisis_rules.yaml"), urgent_queue="urgent"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"hours": {"mon": "8:30-17"}},
            "hours: Value error, hours.mon: '8:30-17': '17' is not a time HH:MM",
        ),
        (
            {"hours": {"monday": "08:30-17:30"}},
            "hours: Value error, hours: unknown weekday 'monday', use mon, tue, wed, thu, fri, "
            "sat, sun",
        ),
        (
            {"hours": {"tue": "08:30-13:00,12:30-17:30"}},
            "hours: Value error, hours.tue: 08:30-13:00 and 12:30-17:30 overlap or are out of "
            "order",
        ),
        (
            {"hours": {"wed": "17:30-08:30"}},
            "hours: Value error, hours.wed: '17:30-08:30': 17:30-08:30 must end after it starts",
        ),
        (
            {"timezone": "Asia/Ekaterinburg"},
            "timezone: Value error, timezone: unknown zone 'Asia/Ekaterinburg', "
            "e.g. 'Asia/Yekaterinburg'",
        ),
        (
            {"extra_days_off": ["2026-12-05"], "extra_working_days": ["2026-12-05"]},
            ": Value error, extra_days_off and extra_working_days both list 2026-12-05",
        ),
        (
            {"extra_days_off": ["31.12.2026"]},
            "extra_days_off.0: Input should be a valid date "
            "or datetime, invalid character in year",
        ),
        ({"holidays": []}, "holidays: Extra inputs are not permitted"),
    ],
)
def test_calendar_validation_messages(data: dict[str, Any], message: str) -> None:
    assert error_of(CalendarSettings, **data) == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "Общие", "title": "x"}, "id: String should match pattern '^[a-z0-9][a-z0-9_-]*$'"),
        (
            {"id": "a", "title": "x", "urgent_hours": 0},
            "urgent_hours: Input should be greater than 0",
        ),
        (
            {"id": "a", "title": "x", "hours": {"sat": "10-14"}},
            "hours: Value error, hours.sat: '10-14': '10' is not a time HH:MM",
        ),
        ({"id": "a", "title": "x", "member": ["x"]}, "member: Extra inputs are not permitted"),
    ],
)
def test_queue_validation_messages(data: dict[str, Any], message: str) -> None:
    assert error_of(QueueSettings, **data) == message


def queues() -> list[QueueSettings]:
    return [
        QueueSettings(id="general", title="Общие вопросы", members=["ivanova"]),
        QueueSettings(id="urgent", title="Срочные", members=["duty"], urgent_hours=2),
        QueueSettings(
            id="saturday",
            title="Приём в субботу",
            hours={"sat": "10:00-14:00", "fri": ""},
            first_reply_hours=1.5,
        ),
    ]


def test_build_queue_directory() -> None:
    calendar = CalendarSettings(
        hours={"mon": "08:30-12:30,13:15-17:30", "fri": "08:30-16:15"},
        extra_days_off=[date(2026, 11, 30)],
    )
    directory = build_queue_directory(calendar, queues(), "general", urgent_queue="urgent")
    general, urgent, saturday = directory.queues
    assert general.calendar is urgent.calendar
    assert general.calendar.tz == EKB
    assert general.members == ("ivanova",)
    assert urgent.urgent_target == timedelta(hours=2)
    assert saturday.first_reply_target == timedelta(hours=1, minutes=30)
    friday_16 = datetime(2026, 11, 27, 16, 0, tzinfo=EKB)
    # Monday 30 Nov is a regional day off, and these hours leave Tuesday to Thursday out.
    assert general.calendar.next_working_start(friday_16 + timedelta(hours=1)) == datetime(
        2026, 12, 4, 8, 30, tzinfo=EKB
    )
    assert saturday.calendar.next_working_start(friday_16) == datetime(
        2026, 11, 28, 10, 0, tzinfo=EKB
    )
    assert directory.route(None, urgent=True, now=friday_16).queue_id == "urgent"


@pytest.mark.parametrize(
    ("default", "urgent", "message"),
    [
        (
            "main",
            None,
            "default_queue: 'main' is not a queue id, known: general, urgent, saturday",
        ),
        (
            "general",
            "sos",
            "crisis.urgent_queue: 'sos' is not a queue id, known: general, urgent, saturday",
        ),
    ],
)
def test_build_rejects_unknown_queue_ids(default: str, urgent: str | None, message: str) -> None:
    with pytest.raises(ValueError) as info:
        build_queue_directory(CalendarSettings(), queues(), default, urgent)
    assert str(info.value) == message


def test_build_rejects_duplicate_ids() -> None:
    twice = [*queues(), QueueSettings(id="urgent", title="Ещё раз")]
    with pytest.raises(ValueError, match=r"^queues: id 'urgent' is used twice$"):
        build_queue_directory(CalendarSettings(), twice, "general")
