"""Failed-login counting per login and per client address, in a sliding window."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
# Bounds memory under a spray of random logins; the oldest keys are forgotten first.
MAX_KEYS = 50_000


class LoginLimiter:
    """In-process: with several replicas each counts alone (a known, documented limit)."""

    def __init__(self, clock: Callable[[], datetime], max_failures: int = MAX_FAILURES,
                 window: timedelta = WINDOW) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window
        self._failures: dict[str, deque[datetime]] = {}

    def blocked(self, login: str, address: str) -> bool:
        return any(self._count(key) >= self._max for key in self._keys(login, address))

    def failed(self, login: str, address: str) -> None:
        now = self._clock()
        for key in self._keys(login, address):
            self._failures.setdefault(key, deque()).append(now)
        while len(self._failures) > MAX_KEYS:
            self._failures.pop(next(iter(self._failures)))

    def succeeded(self, login: str) -> None:
        self._failures.pop(f"login:{login.lower()}", None)

    def _count(self, key: str) -> int:
        times = self._failures.get(key)
        if times is None:
            return 0
        horizon = self._clock() - self._window
        while times and times[0] <= horizon:
            times.popleft()
        if not times:
            del self._failures[key]
        return len(times)

    @staticmethod
    def _keys(login: str, address: str) -> tuple[str, str]:
        return f"login:{login.lower()}", f"ip:{address}"
