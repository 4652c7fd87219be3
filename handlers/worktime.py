"""Working time of an institution: weekly hours on the Russian production calendar."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import holidays

# Art. 112 of the Labour Code: the federal non-working holidays. Only the day right before one of
# these is shortened (Art. 95); a transferred day off is not a holiday, so 2025-12-30 (before the
# transferred 2025-12-31) stays a full day, as the published production calendar says.
_STATUTORY_HOLIDAYS = frozenset(
    {(1, d) for d in range(1, 9)} | {(2, 23), (3, 8), (5, 1), (5, 9), (6, 12), (11, 4)}
)
_PRE_HOLIDAY_CUT = timedelta(hours=1)
# A calendar without any working day would loop forever; two years is beyond any real gap.
_SEARCH_LIMIT_DAYS = 731
_DAY_CACHE_SIZE = 4096


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        return list(Weekday).index(self)

    @classmethod
    def of(cls, day: date) -> Weekday:
        return list(cls)[day.weekday()]


@dataclass(frozen=True, slots=True)
class WorkInterval:
    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError(f"{self} must end after it starts")

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True, slots=True)
class WeeklyHours:
    """Working intervals per weekday, Monday first; an empty tuple is a day off."""

    days: tuple[tuple[WorkInterval, ...], ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise ValueError(f"weekly hours need 7 days, got {len(self.days)}")
        for weekday, intervals in zip(Weekday, self.days, strict=True):
            _check_sorted(weekday, intervals)

    @classmethod
    def from_mapping(cls, hours: Mapping[Weekday, Sequence[WorkInterval]]) -> WeeklyHours:
        return cls(tuple(tuple(hours.get(day, ())) for day in Weekday))

    def on(self, weekday: Weekday) -> tuple[WorkInterval, ...]:
        return self.days[weekday.number]


def _check_sorted(weekday: Weekday, intervals: Sequence[WorkInterval]) -> None:
    for before, after in itertools.pairwise(intervals):
        if after.start < before.end:
            raise ValueError(f"{weekday}: {before} and {after} overlap or are out of order")


def parse_day_hours(text: str) -> tuple[WorkInterval, ...]:
    """Parse "08:30-12:30,13:15-17:30"; an empty string is a day off."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return tuple(_parse_interval(part) for part in parts)


def _parse_interval(text: str) -> WorkInterval:
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not HH:MM-HH:MM")
    try:
        return WorkInterval(_parse_clock(start), _parse_clock(end))
    except ValueError as exc:
        raise ValueError(f"{text.strip()!r}: {exc}") from None


def _parse_clock(text: str) -> time:
    # strptime, unlike time.fromisoformat, takes "8:30" as people write it.
    try:
        return datetime.strptime(text.strip(), "%H:%M").time()
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a time HH:MM") from None


@dataclass(frozen=True, slots=True)
class _YearDays:
    days_off: frozenset[date]
    working_weekends: frozenset[date]


class WorkCalendar:
    """Working time in the institution's zone; accepts aware datetimes in any zone."""

    __slots__ = (
        "_day_intervals",
        "_year_days",
        "extra_days_off",
        "extra_working_days",
        "hours",
        "short_pre_holiday",
        "transferred_day_hours",
        "tz",
    )

    def __init__(
        self,
        tz: ZoneInfo,
        hours: WeeklyHours,
        extra_days_off: frozenset[date] = frozenset(),
        extra_working_days: frozenset[date] = frozenset(),
        *,
        short_pre_holiday: bool = True,
        transferred_day_hours: Weekday = Weekday.FRI,
    ) -> None:
        clash = extra_days_off & extra_working_days
        if clash:
            raise ValueError(f"days both off and working: {sorted(clash)}")
        self.tz = tz
        self.hours = hours
        self.extra_days_off = extra_days_off
        self.extra_working_days = extra_working_days
        self.short_pre_holiday = short_pre_holiday
        self.transferred_day_hours = transferred_day_hours
        # Per-instance caches: a module-level cache would keep every calendar ever built alive.
        self._year_days = functools.lru_cache(maxsize=64)(self._load_year)
        self._day_intervals = functools.lru_cache(maxsize=_DAY_CACHE_SIZE)(self._build_day)

    def is_working_day(self, day: date) -> bool:
        """A working day of the five-day week of the production calendar, with overrides."""
        if self._is_day_off(day):
            return False
        return day.weekday() < 5 or self._is_transferred_workday(day)

    def intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The working intervals of one local day as aware datetimes."""
        return self._day_intervals(day)

    def is_working_time(self, dt: datetime) -> bool:
        local = self._local(dt)
        return any(start <= local < end for start, end in self.intervals(local.date()))

    def next_working_start(self, dt: datetime) -> datetime:
        """The moment itself if it is working time, else the start of the next interval."""
        local = self._local(dt)
        start, _ = next(self._intervals_from(local))
        return max(start, local)

    def add_working(self, dt: datetime, delta: timedelta) -> datetime:
        """The moment after `delta` of working time from `dt`; may end exactly at closing."""
        if delta < timedelta(0):
            raise ValueError(f"working time to add must not be negative: {delta}")
        local = self._local(dt)
        remaining = delta
        for start, end in self._intervals_from(local):
            begin = max(start, local)
            # Wall-clock arithmetic in `tz`: exact for Russian zones, which keep no summer time.
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        raise AssertionError("unreachable: _intervals_from never ends without raising")

    def working_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in [a, b); negative when b precedes a."""
        if b < a:
            return -self.working_between(b, a)
        low, high = self._local(a), self._local(b)
        total = timedelta(0)
        day = low.date()
        while day <= high.date():
            for start, end in self.intervals(day):
                total += max(timedelta(0), min(end, high) - max(start, low))
            day += timedelta(days=1)
        return total

    def _local(self, dt: datetime) -> datetime:
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError(f"naive datetime {dt.isoformat()}: pass a timezone-aware one")
        return dt.astimezone(self.tz)

    def _intervals_from(self, local: datetime) -> Iterator[tuple[datetime, datetime]]:
        day = local.date()
        for _ in range(_SEARCH_LIMIT_DAYS):
            yield from ((s, e) for s, e in self.intervals(day) if e > local)
            day += timedelta(days=1)
        raise ValueError(f"no working time within {_SEARCH_LIMIT_DAYS} days of {local}")

    def _build_day(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        spans = [
            (datetime.combine(day, i.start, self.tz), datetime.combine(day, i.end, self.tz))
            for i in self._hours_of(day)
        ]
        if self.short_pre_holiday and spans and self._is_pre_holiday(day):
            return _cut_tail(spans, _PRE_HOLIDAY_CUT)
        return tuple(spans)

    def _hours_of(self, day: date) -> tuple[WorkInterval, ...]:
        if self._is_day_off(day):
            return ()
        if day.weekday() >= 5 and self._is_transferred_workday(day):
            return self.hours.on(self.transferred_day_hours)
        # Ordinary weekends follow the institution's own hours: some centres receive on Saturdays.
        return self.hours.on(Weekday.of(day))

    def _is_day_off(self, day: date) -> bool:
        if day in self.extra_days_off:
            return True
        return day not in self.extra_working_days and day in self._year_days(day.year).days_off

    def _is_transferred_workday(self, day: date) -> bool:
        return day in self.extra_working_days or self._is_working_weekend(day)

    def _is_working_weekend(self, day: date) -> bool:
        return day in self._year_days(day.year).working_weekends

    def _is_pre_holiday(self, day: date) -> bool:
        following = day + timedelta(days=1)
        if (following.month, following.day) in _STATUTORY_HOLIDAYS:
            return following not in self.extra_working_days
        # A transferred working Saturday takes the shortening of the weekday it swapped with:
        # 2025-11-01 works an hour less because the day off 2025-11-03 precedes 2025-11-04.
        return self._is_working_weekend(day) and self._holiday_before_next_workday(following)

    def _holiday_before_next_workday(self, day: date) -> bool:
        while not self.is_working_day(day):
            if (day.month, day.day) in _STATUTORY_HOLIDAYS:
                return True
            day += timedelta(days=1)
        return False

    @staticmethod
    def _load_year(year: int) -> _YearDays:
        # One object per year, not expanding: a lookup of another year would grow it silently.
        russia = holidays.country_holidays("RU", years=year, expand=False)
        return _YearDays(
            days_off=frozenset(d for d in russia if d.year == year),
            working_weekends=frozenset(d for d in russia.weekend_workdays if d.year == year),
        )


def _cut_tail(
    spans: list[tuple[datetime, datetime]], cut: timedelta
) -> tuple[tuple[datetime, datetime], ...]:
    kept: list[tuple[datetime, datetime]] = []
    for start, end in reversed(spans):
        taken = min(cut, end - start)
        cut -= taken
        if end - taken > start:
            kept.append((start, end - taken))
    return tuple(reversed(kept))
