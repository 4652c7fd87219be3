"""Shared calendars for the core's tests."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from faq.matcher import Matcher
from handlers.worktime import Weekday, WeeklyHours, WorkCalendar, parse_day_hours
from tests.handlers.sample_chat import Chat, build_sample_matcher

EKB = ZoneInfo("Asia/Yekaterinburg")


def office_hours(lunch: bool = False) -> WeeklyHours:
    long_day = "08:30-12:30,13:15-17:30" if lunch else "08:30-17:30"
    days = {day: parse_day_hours(long_day) for day in (Weekday.MON, Weekday.TUE, Weekday.WED)}
    days[Weekday.THU] = parse_day_hours(long_day)
    days[Weekday.FRI] = parse_day_hours("08:30-16:15")
    return WeeklyHours.from_mapping(days)


@pytest.fixture
def calendar() -> WorkCalendar:
    return WorkCalendar(EKB, office_hours())


@pytest.fixture
def lunch_calendar() -> WorkCalendar:
    return WorkCalendar(EKB, office_hours(lunch=True))


@pytest.fixture(scope="session")
def sample_matcher() -> Matcher:
    """The sample knowledge base's matcher, built once: it takes a second or two."""
    return build_sample_matcher()


@pytest.fixture
def chat(sample_matcher: Matcher) -> Chat:
    return Chat(sample_matcher)
