"""Small statistics with documented definitions (docs/metrics.md): ratios, median, p90."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Ratio:
    part: int
    whole: int

    @property
    def share(self) -> float | None:
        """None when the denominator is empty: "no data" is not 0 %."""
        return self.part / self.whole if self.whole else None

    @property
    def percent(self) -> float | None:
        share = self.share
        return None if share is None else round(100 * share, 1)


def nearest_rank(values: Sequence[float], p: float) -> float | None:
    """The p-th percentile by nearest rank: the ceil(p/100 * n)-th smallest value.

    It is always one of the observed values, so "p90 = 45 min" means a real reply took 45 min.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float | None:
    """The usual median: the middle value, or the mean of the two middle values."""
    return statistics.median(values) if values else None


@dataclass(frozen=True, slots=True)
class Durations:
    """Minutes; count is how many durations were measured."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, minutes: Sequence[float]) -> Durations:
        return cls(len(minutes), median(minutes), nearest_rank(minutes, 90))


def to_minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60
