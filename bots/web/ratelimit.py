"""Failed-login counting per login and per client address, in a sliding window."""

from __future__ import annotations

import logging
import secrets
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
# Bounds memory under a spray of random logins; the oldest keys are forgotten first.
MAX_KEYS = 50_000


def limit_keys(login: str, address: str) -> tuple[str, str]:
    return f"login:{login.lower()}", f"ip:{address}"


class LoginLimiter(Protocol):
    async def blocked(self, login: str, address: str) -> bool: ...

    async def failed(self, login: str, address: str) -> None: ...

    async def succeeded(self, login: str) -> None:
        """A successful login clears its login's count (not its address's)."""


class MemoryLoginLimiter:
    """In-process: with several replicas each counts alone; RedisLoginLimiter shares counts."""

    def __init__(self, clock: Callable[[], datetime], max_failures: int = MAX_FAILURES,
                 window: timedelta = WINDOW) -> None:
        self._clock = clock
        self._max = max_failures
        self._window = window
        self._failures: dict[str, deque[datetime]] = {}

    async def blocked(self, login: str, address: str) -> bool:
        return any(self._count(key) >= self._max for key in limit_keys(login, address))

    async def failed(self, login: str, address: str) -> None:
        now = self._clock()
        for key in limit_keys(login, address):
            self._failures.setdefault(key, deque()).append(now)
        while len(self._failures) > MAX_KEYS:
            self._failures.pop(next(iter(self._failures)))

    async def succeeded(self, login: str) -> None:
        self._failures.pop(limit_keys(login, "")[0], None)

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


class RedisLoginLimiter:
    """Counts shared by every replica: one sorted set of failure times per key.

    When Redis is unreachable, counting goes on in this process rather than locking
    everyone out or letting guesses through unchecked.
    """

    def __init__(self, redis: Redis, clock: Callable[[], datetime],
                 max_failures: int = MAX_FAILURES, window: timedelta = WINDOW,
                 prefix: str = "priemnaya:login-failures:") -> None:
        self._redis, self._clock, self._prefix = redis, clock, prefix
        self._max, self._window = max_failures, window
        self._fallback = MemoryLoginLimiter(clock, max_failures, window)

    async def blocked(self, login: str, address: str) -> bool:
        horizon = (self._clock() - self._window).timestamp()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in limit_keys(login, address):
                    pipe.zremrangebyscore(self._prefix + key, "-inf", horizon)
                    pipe.zcard(self._prefix + key)
                counts = (await pipe.execute())[1::2]
        except RedisError:
            log.warning("Redis unreachable: counting failed logins in this process")
            return await self._fallback.blocked(login, address)
        return any(int(n) >= self._max for n in counts)

    async def failed(self, login: str, address: str) -> None:
        now = self._clock().timestamp()
        ttl = int(self._window.total_seconds()) + 1
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in limit_keys(login, address):
                    pipe.zadd(self._prefix + key, {f"{now}:{secrets.token_hex(4)}": now})
                    pipe.expire(self._prefix + key, ttl)
                await pipe.execute()
        except RedisError:
            await self._fallback.failed(login, address)

    async def succeeded(self, login: str) -> None:
        try:
            await self._redis.delete(self._prefix + limit_keys(login, "")[0])
        except RedisError:
            await self._fallback.succeeded(login)
