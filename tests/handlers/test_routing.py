"""Queues, reply targets in working time and the client's expectation text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import jinja2
import pytest

from handlers.routing import (
    ExpectedKind,
    Queue,
    QueueDirectory,
    breached,
    describe_expected,
    reminder_due,
    target_progress,
)
from handlers.worktime import WorkCalendar
from tests.handlers.conftest import EKB

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def ekb(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=EKB)  # type: ignore[misc]


@pytest.fixture
def directory(calendar: WorkCalendar) -> QueueDirectory:
    queues = [
        Queue("general", "Общие вопросы", ("ivanova",), calendar),
        Queue("benefits", "Пособия", ("petrova", "sidorov"), calendar),
        Queue("urgent", "Срочные", ("duty",), calendar),
    ]
    return QueueDirectory(queues, default_queue_id="general", urgent_queue_id="urgent")


def render(directory: QueueDirectory, now: datetime, urgent: bool = False) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False)
    expected = describe_expected(directory.route("benefits", urgent, now), now)
    return env.get_template("messages/expected_reply.j2").render(expected=expected)


def test_queue_defaults(calendar: WorkCalendar) -> None:
    queue = Queue("general", "Общие вопросы", (), calendar)
    assert queue.first_reply_target == timedelta(hours=9)
    assert queue.urgent_target == timedelta(hours=4)
    assert queue.target(urgent=True) == timedelta(hours=4)


@pytest.mark.parametrize("queue_id", [None, "", "no-such-queue"])
def test_unknown_or_empty_queue_goes_to_default(
    directory: QueueDirectory, queue_id: str | None
) -> None:
    assert directory.queue_for(queue_id).id == "general"


def test_known_queue(directory: QueueDirectory) -> None:
    assert directory.queue_for("benefits").members == ("petrova", "sidorov")


def test_route_in_hours(directory: QueueDirectory) -> None:
    routing = directory.route("benefits", urgent=False, now=ekb(2026, 11, 23, 10, 0))
    assert routing.queue_id == "benefits"
    assert routing.due_at == ekb(2026, 11, 24, 10, 0)
    assert routing.in_hours
    assert routing.answer_expected_from == ekb(2026, 11, 23, 10, 0)


def test_urgent_goes_to_urgent_queue_with_urgent_target(directory: QueueDirectory) -> None:
    routing = directory.route("benefits", urgent=True, now=datetime(2026, 11, 27, 10, tzinfo=UTC))
    assert routing.queue_id == "urgent"
    assert routing.urgent
    assert routing.due_at == ekb(2026, 11, 30, 11, 15)
    assert routing.in_hours


def test_urgent_without_urgent_queue_stays_in_its_queue(calendar: WorkCalendar) -> None:
    directory = QueueDirectory([Queue("general", "Общие", (), calendar)], "general")
    routing = directory.route("general", urgent=True, now=ekb(2026, 11, 28, 12, 0))
    assert routing.queue_id == "general"
    assert routing.due_at == ekb(2026, 11, 30, 12, 30)
    assert not routing.in_hours
    assert routing.answer_expected_from == ekb(2026, 11, 30, 8, 30)


def test_directory_validation(calendar: WorkCalendar) -> None:
    general = Queue("general", "Общие", (), calendar)
    with pytest.raises(ValueError, match="queue id 'general' is used twice"):
        QueueDirectory([general, general], "general")
    with pytest.raises(ValueError, match=r"default queue 'main' is not among \['general'\]"):
        QueueDirectory([general], "main")
    with pytest.raises(ValueError, match=r"urgent queue 'urgent' is not among \['general'\]"):
        QueueDirectory([general], "general", "urgent")
    with pytest.raises(ValueError, match="queue 'x': urgent_target must be positive"):
        Queue("x", "X", (), calendar, urgent_target=timedelta(0))


@pytest.mark.parametrize(
    ("now", "progress", "reminder", "breach"),
    [
        (ekb(2026, 11, 23, 10, 0), 0.0, False, False),
        (ekb(2026, 11, 23, 17, 11), 431 / 540, False, False),
        (ekb(2026, 11, 23, 17, 12), 0.8, True, False),  # 7 h 12 min of 9 h
        (ekb(2026, 11, 23, 23, 0), 450 / 540, True, False),  # night does not count
        (ekb(2026, 11, 24, 9, 59), 539 / 540, True, False),
        (ekb(2026, 11, 24, 10, 0), 1.0, False, True),
        (ekb(2026, 11, 25, 10, 0), 1.0 + 9 / 9, False, True),
    ],
)
def test_first_reply_thresholds(
    directory: QueueDirectory, now: datetime, progress: float, reminder: bool, breach: bool
) -> None:
    queue, opened = directory.queue_for("benefits"), ekb(2026, 11, 23, 10, 0)
    assert target_progress(queue, opened, now, urgent=False) == pytest.approx(progress, abs=1e-12)
    assert reminder_due(queue, opened, now, urgent=False) is reminder
    assert breached(queue, opened, now, urgent=False) is breach


@pytest.mark.parametrize(
    ("now", "reminder", "breach"),
    [
        (ekb(2026, 11, 28, 12, 0), False, False),  # Saturday: 1 h 15 min of 4 h
        (ekb(2026, 11, 30, 10, 26), False, False),
        (ekb(2026, 11, 30, 10, 27), True, False),  # 3 h 12 min of 4 h
        (ekb(2026, 11, 30, 11, 15), False, True),
    ],
)
def test_urgent_thresholds_over_a_weekend(
    directory: QueueDirectory, now: datetime, reminder: bool, breach: bool
) -> None:
    queue, opened = directory.queue_for("urgent"), ekb(2026, 11, 27, 15, 0)
    assert reminder_due(queue, opened, now, urgent=True) is reminder
    assert breached(queue, opened, now, urgent=True) is breach


@pytest.mark.parametrize(
    ("now", "kind", "days_ahead"),
    [
        (ekb(2026, 11, 23, 10, 0), ExpectedKind.WITHIN_HOURS, 0),
        (ekb(2026, 11, 30, 7, 0), ExpectedKind.TODAY, 0),
        (ekb(2026, 11, 26, 18, 0), ExpectedKind.TOMORROW, 1),
        (ekb(2026, 11, 27, 18, 0), ExpectedKind.ON_DATE, 3),
    ],
)
def test_describe_expected_kind(
    directory: QueueDirectory, now: datetime, kind: ExpectedKind, days_ahead: int
) -> None:
    expected = describe_expected(directory.route("benefits", False, now), now)
    assert expected.kind is kind
    assert expected.start.days_ahead == days_ahead


def test_describe_expected_counts_days_in_institution_zone(directory: QueueDirectory) -> None:
    # 20:00 UTC on Thursday is already 01:00 on Friday in Yekaterinburg: "today", not "tomorrow".
    now = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
    expected = describe_expected(directory.route("benefits", False, now), now)
    assert expected.kind is ExpectedKind.TODAY
    assert (expected.start.hour, expected.start.minute) == (8, 30)


HEAD = ""


@pytest.mark.parametrize(
    ("now", "text"),
    [
        (
            ekb(2026, 11, 23, 8, 30),
            "Специалисты сейчас на работе. Вам ответят сегодня, не позднее 17:30.",
        ),
        (
            ekb(2026, 11, 23, 10, 0),
            "Вам ответят в рабочее время, самое позднее — завтра до 10:00.",
        ),
        (ekb(2026, 11, 30, 7, 0), "Специалист ответит сегодня, после 8:30."),
        (
            ekb(2026, 11, 26, 18, 0),
            "Сейчас нерабочее время. Специалист ответит в рабочее время: завтра, после 8:30.",
        ),
        (
            ekb(2026, 11, 27, 18, 0),
            "Сейчас нерабочее время. Специалист ответит в рабочее время: "
            "в понедельник, 30 ноября, после 8:30.",
        ),
        (
            ekb(2026, 12, 30, 18, 0),
            "Сейчас нерабочее время. Специалист ответит в рабочее время: "
            "в понедельник, 11 января, после 8:30.",
        ),
    ],
)
def test_expected_reply_template(directory: QueueDirectory, now: datetime, text: str) -> None:
    assert render(directory, now) == HEAD + text


def test_expected_reply_template_rounds_the_due_time_up_to_a_quarter_hour(
        directory: QueueDirectory) -> None:
    # Monday 9:49 with a 9-hour target: due Tuesday 9:49, said as 10:00; today's 17:30 stays.
    assert render(directory, ekb(2026, 11, 23, 9, 49)) == HEAD + (
        "Вам ответят в рабочее время, самое позднее — завтра до 10:00.")
    assert render(directory, ekb(2026, 11, 23, 8, 31)) == HEAD + (
        "Вам ответят в рабочее время, самое позднее — завтра до 8:45.")


def test_expected_reply_template_with_a_due_date_days_ahead(directory: QueueDirectory) -> None:
    # Friday 16:00 with a 9-hour target: 15 minutes on Friday, the rest on Monday.
    assert render(directory, ekb(2026, 11, 27, 16, 0)) == HEAD + (
        "Вам ответят в рабочее время, самое позднее — в понедельник, 30 ноября, до 17:15."
    )
