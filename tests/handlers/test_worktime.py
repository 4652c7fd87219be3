"""Working-time arithmetic on the Russian production calendar."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from handlers.worktime import Weekday, WeeklyHours, WorkCalendar, parse_day_hours
from tests.handlers.conftest import EKB, office_hours

HOUR = timedelta(hours=1)


def ekb(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=EKB)  # type: ignore[misc]


def hhmm(calendar: WorkCalendar, day: str) -> list[str]:
    return [f"{s:%H:%M}-{e:%H:%M}" for s, e in calendar.intervals(date.fromisoformat(day))]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (ekb(2026, 11, 24, 17, 0), ekb(2026, 11, 25, 9, 0)),  # over a night
        (ekb(2026, 11, 24, 3, 0), ekb(2026, 11, 24, 9, 30)),  # before opening
        (ekb(2026, 11, 27, 16, 0), ekb(2026, 11, 30, 9, 15)),  # Friday closes at 16:15
        (ekb(2026, 11, 28, 12, 0), ekb(2026, 11, 30, 9, 30)),  # from a Saturday
        (ekb(2025, 12, 30, 17, 0), ekb(2026, 1, 12, 9, 0)),  # New Year holidays incl. 31 Dec
        (ekb(2026, 4, 30, 16, 0), ekb(2026, 5, 4, 9, 0)),  # 30 Apr ends 16:30, 1-3 May off
        (ekb(2026, 5, 8, 15, 0), ekb(2026, 5, 12, 9, 15)),  # 8 May 15:15, 11 May observed
        (ekb(2026, 6, 11, 16, 0), ekb(2026, 6, 15, 9, 0)),  # 12 June
        (ekb(2026, 11, 3, 16, 0), ekb(2026, 11, 5, 9, 0)),  # 4 November
        (ekb(2025, 10, 31, 16, 0), ekb(2025, 11, 1, 9, 15)),  # working Saturday 2025-11-01
        (ekb(2025, 11, 1, 15, 0), ekb(2025, 11, 5, 9, 15)),  # its day ends 15:15
    ],
)
def test_add_one_working_hour(calendar: WorkCalendar, start: datetime, expected: datetime) -> None:
    assert calendar.add_working(start, HOUR) == expected


def test_lunch_break_is_skipped(lunch_calendar: WorkCalendar) -> None:
    assert lunch_calendar.add_working(ekb(2026, 11, 23, 12, 0), HOUR) == ekb(2026, 11, 23, 13, 45)
    assert not lunch_calendar.is_working_time(ekb(2026, 11, 23, 12, 45))
    assert lunch_calendar.next_working_start(ekb(2026, 11, 23, 12, 45)) == ekb(
        2026, 11, 23, 13, 15
    )


def test_deadline_may_fall_exactly_at_closing(calendar: WorkCalendar) -> None:
    assert calendar.add_working(ekb(2026, 11, 23, 8, 30), 9 * HOUR) == ekb(2026, 11, 23, 17, 30)
    assert calendar.add_working(ekb(2026, 11, 23, 20, 0), 9 * HOUR) == ekb(2026, 11, 24, 17, 30)


def test_zero_delta_gives_next_working_start(calendar: WorkCalendar) -> None:
    assert calendar.add_working(ekb(2026, 11, 28, 10, 0), timedelta(0)) == ekb(2026, 11, 30, 8, 30)
    assert calendar.add_working(ekb(2026, 11, 30, 10, 0), timedelta(0)) == ekb(2026, 11, 30, 10, 0)


@pytest.mark.parametrize(
    ("day", "intervals"),
    [
        ("2026-01-09", []),  # day off transferred from Saturday 3 January
        ("2026-12-31", []),  # day off transferred from Sunday 4 January
        ("2026-01-12", ["08:30-17:30"]),
        ("2025-11-01", ["08:30-15:15"]),  # working Saturday: Friday hours, pre-holiday
        ("2025-11-03", []),
        ("2025-12-30", ["08:30-17:30"]),  # before a transferred day off: not shortened
        ("2025-03-07", ["08:30-15:15"]),
        ("2026-03-06", ["08:30-16:15"]),  # 8 March 2026 is a Sunday: no shortening
        ("2026-02-23", []),
        ("2026-03-09", []),  # 8 March observed
        ("2026-05-01", []),
        ("2026-05-09", []),
        ("2026-06-12", []),
        ("2026-11-04", []),
        ("2026-11-28", []),  # an ordinary Saturday
    ],
)
def test_production_calendar_days(calendar: WorkCalendar, day: str, intervals: list[str]) -> None:
    assert hhmm(calendar, day) == intervals


def test_shortened_days_of_2025_and_2026_match_the_published_calendar(
    calendar: WorkCalendar,
) -> None:
    def shortened(year: int) -> list[str]:
        days = [date(year, 1, 1) + timedelta(days=n) for n in range(365)]
        return [
            d.isoformat()
            for d in days
            if hhmm(calendar, d.isoformat())[-1:] in (["08:30-16:30"], ["08:30-15:15"])
        ]

    assert shortened(2025) == ["2025-03-07", "2025-04-30", "2025-06-11", "2025-11-01"]
    assert shortened(2026) == ["2026-04-30", "2026-05-08", "2026-06-11", "2026-11-03"]


def test_pre_holiday_shortening_can_be_switched_off() -> None:
    calendar = WorkCalendar(EKB, office_hours(), short_pre_holiday=False)
    assert hhmm(calendar, "2025-11-01") == ["08:30-16:15"]
    assert hhmm(calendar, "2026-11-03") == ["08:30-17:30"]


def test_shortening_eats_into_the_interval_before_when_the_last_is_short() -> None:
    hours = WeeklyHours.from_mapping({Weekday.TUE: parse_day_hours("08:30-12:30,13:00-13:30")})
    calendar = WorkCalendar(EKB, hours)
    assert hhmm(calendar, "2026-11-03") == ["08:30-12:00"]


def test_transferred_saturday_takes_the_configured_weekday() -> None:
    calendar = WorkCalendar(EKB, office_hours(), transferred_day_hours=Weekday.MON)
    assert hhmm(calendar, "2025-11-01") == ["08:30-16:30"]


def test_administrator_overrides() -> None:
    calendar = WorkCalendar(
        EKB,
        office_hours(),
        extra_days_off=frozenset({date(2026, 11, 30)}),
        extra_working_days=frozenset({date(2026, 12, 5), date(2026, 1, 9)}),
    )
    assert calendar.add_working(ekb(2026, 11, 27, 16, 0), HOUR) == ekb(2026, 12, 1, 9, 15)
    assert hhmm(calendar, "2026-12-05") == ["08:30-16:15"]
    assert hhmm(calendar, "2026-01-09") == ["08:30-16:15"]
    assert calendar.is_working_day(date(2026, 12, 5))
    assert not calendar.is_working_day(date(2026, 11, 30))


def test_override_lists_must_not_clash() -> None:
    with pytest.raises(ValueError, match=r"days both off and working: \[datetime.date\(2026, 12"):
        WorkCalendar(
            EKB, office_hours(), frozenset({date(2026, 12, 5)}), frozenset({date(2026, 12, 5)})
        )


def test_input_in_utc_gives_institution_time(calendar: WorkCalendar) -> None:
    due = calendar.add_working(datetime(2026, 11, 24, 12, 0, tzinfo=UTC), HOUR)
    assert due == ekb(2026, 11, 25, 9, 0)
    assert due.tzinfo is EKB
    assert due.utcoffset() == timedelta(hours=5)
    assert calendar.is_working_time(datetime(2026, 11, 24, 3, 30, tzinfo=UTC))
    assert not calendar.is_working_time(datetime(2026, 11, 24, 3, 29, tzinfo=UTC))


def test_yekaterinburg_has_no_summer_time(calendar: WorkCalendar) -> None:
    # Europe moves its clocks on 29 March and 25 October 2026; the offset here stays +5.
    march = calendar.next_working_start(ekb(2026, 3, 30, 0, 0))
    october = calendar.next_working_start(ekb(2026, 10, 26, 0, 0))
    assert march.astimezone(UTC) == datetime(2026, 3, 30, 3, 30, tzinfo=UTC)
    assert october.astimezone(UTC) == datetime(2026, 10, 26, 3, 30, tzinfo=UTC)


def test_working_between(calendar: WorkCalendar, lunch_calendar: WorkCalendar) -> None:
    week = (ekb(2026, 11, 23, 8, 30), ekb(2026, 11, 27, 16, 15))
    assert calendar.working_between(*week) == timedelta(hours=43, minutes=45)
    assert lunch_calendar.working_between(*week) == timedelta(hours=40, minutes=45)
    assert calendar.working_between(week[1], week[0]) == -timedelta(hours=43, minutes=45)
    january = (ekb(2026, 1, 1, 0, 0), ekb(2026, 2, 1, 0, 0))
    assert calendar.working_between(*january) == timedelta(hours=131, minutes=15)


def test_is_working_time_bounds(calendar: WorkCalendar) -> None:
    assert calendar.is_working_time(ekb(2026, 11, 23, 8, 30))
    assert not calendar.is_working_time(ekb(2026, 11, 23, 17, 30))
    assert not calendar.is_working_time(ekb(2026, 1, 9, 10, 0))


def test_next_working_start(calendar: WorkCalendar) -> None:
    assert calendar.next_working_start(ekb(2026, 1, 9, 10, 0)) == ekb(2026, 1, 12, 8, 30)
    assert calendar.next_working_start(ekb(2026, 12, 30, 18, 0)) == ekb(2027, 1, 11, 8, 30)
    assert calendar.next_working_start(ekb(2026, 11, 24, 9, 5)) == ekb(2026, 11, 24, 9, 5)


def test_rejects_naive_and_negative_input(calendar: WorkCalendar) -> None:
    with pytest.raises(ValueError, match="naive datetime 2026-11-24T09:00:00"):
        calendar.is_working_time(datetime(2026, 11, 24, 9, 0))
    with pytest.raises(ValueError, match="must not be negative"):
        calendar.add_working(ekb(2026, 11, 24, 9, 0), -HOUR)


def test_calendar_without_hours_fails_instead_of_looping() -> None:
    empty = WorkCalendar(EKB, WeeklyHours.from_mapping({}))
    with pytest.raises(ValueError, match="no working time within 731 days"):
        empty.next_working_start(ekb(2026, 11, 24, 9, 0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("08:30-", "'08:30-': '' is not a time HH:MM"),
        ("8:30", "'8:30' is not HH:MM-HH:MM"),
        ("17:30-08:30", "'17:30-08:30': 17:30-08:30 must end after it starts"),
        ("25:00-26:00", "'25:00-26:00': '25:00' is not a time HH:MM"),
    ],
)
def test_parse_day_hours_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_day_hours(text)
    assert str(info.value) == message


def test_parse_day_hours_accepts_lunch_and_short_hours() -> None:
    assert [str(i) for i in parse_day_hours("8:30-12:30, 13:15-17:30")] == [
        "08:30-12:30",
        "13:15-17:30",
    ]
    assert parse_day_hours("") == ()


def test_overlapping_intervals_are_rejected() -> None:
    with pytest.raises(ValueError, match="mon: 08:30-13:00 and 12:30-17:30 overlap"):
        WeeklyHours.from_mapping({Weekday.MON: parse_day_hours("08:30-13:00,12:30-17:30")})


def test_add_and_between_are_inverse_on_random_samples(lunch_calendar: WorkCalendar) -> None:
    rng = random.Random(20261127)
    origin = ekb(2025, 1, 1, 0, 0)
    for _ in range(400):
        start = origin + timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
        delta = timedelta(minutes=rng.randrange(200 * 60))
        due = lunch_calendar.add_working(start, delta)
        assert lunch_calendar.working_between(start, due) == delta
        later = start + timedelta(minutes=rng.randrange(60 * 24 * 60))
        spent = lunch_calendar.working_between(start, later)
        back = lunch_calendar.add_working(start, spent)
        assert back <= later or spent == timedelta(0)
        assert lunch_calendar.working_between(back, later) == timedelta(0)


def test_intervals_are_cached(calendar: WorkCalendar) -> None:
    first = calendar.intervals(date(2026, 11, 24))
    assert calendar.intervals(date(2026, 11, 24)) is first
    assert first[0][0].tzinfo is EKB
