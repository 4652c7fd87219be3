"""Failed-login counting per login, per client address and per both, in a sliding window."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bots.redis_client import TIMEOUT_S

log = logging.getLogger(__name__)

WINDOW = timedelta(minutes=15)
# Bounds memory under a spray of random logins; the oldest keys are forgotten first.
MAX_KEYS = 50_000
# After Redis failed to answer, logins are counted in process this long before it is tried
# again: each try may cost a login the client's whole timeout while Redis hangs.
RETRY_REDIS_AFTER = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class Limits:
    """Failures allowed in the window before 429.

    A whole office often reaches the desk from one address (NAT): a colleague's typos must not
    lock everybody out, so one login from one address stops at `pair`, the address as a whole
    only at `address`. `login` stops guessing one account from many addresses.
    """

    pair: int = 5
    address: int = 30
    login: int = 20


def limit_keys(login: str, address: str, limits: Limits) -> tuple[tuple[str, int], ...]:
    name = login.lower()
    return ((f"pair:{address}:{name}", limits.pair), (f"ip:{address}", limits.address),
            (f"login:{name}", limits.login))


def cleared_keys(login: str, address: str) -> tuple[str, str]:
    """What a successful login clears: its own counts, not its address's."""
    name = login.lower()
    return f"pair:{address}:{name}", f"login:{name}"


class LoginLimiter(Protocol):
    async def blocked(self, login: str, address: str) -> bool: ...

    async def failed(self, login: str, address: str) -> None: ...

    async def succeeded(self, login: str, address: str) -> None:
        """A successful login clears its login's counts (not its address's)."""


class MemoryLoginLimiter:
    """In-process: with several replicas each counts alone; RedisLoginLimiter shares counts."""

    def __init__(self, clock: Callable[[], datetime], limits: Limits = Limits(),
                 window: timedelta = WINDOW) -> None:
        self._clock = clock
        self._limits = limits
        self._window = window
        self._failures: dict[str, deque[datetime]] = {}

    async def blocked(self, login: str, address: str) -> bool:
        return any(self._count(key) >= most
                   for key, most in limit_keys(login, address, self._limits))

    async def failed(self, login: str, address: str) -> None:
        now = self._clock()
        for key, _ in limit_keys(login, address, self._limits):
            self._failures.setdefault(key, deque()).append(now)
        while len(self._failures) > MAX_KEYS:
            self._failures.pop(next(iter(self._failures)))

    async def succeeded(self, login: str, address: str) -> None:
        for key in cleared_keys(login, address):
            self._failures.pop(key, None)

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

    When Redis is unreachable or does not answer in time, counting goes on in this process
    rather than locking everyone out or letting guesses through unchecked; Redis is tried again
    after `retry_after`, so that a hanging Redis does not slow every login down.
    """

    def __init__(self, redis: Redis, clock: Callable[[], datetime],
                 limits: Limits = Limits(), window: timedelta = WINDOW,
                 prefix: str = "priemnaya:login-failures:", timeout_s: float = TIMEOUT_S,
                 retry_after: timedelta = RETRY_REDIS_AFTER) -> None:
        self._redis, self._clock, self._prefix = redis, clock, prefix
        self._limits, self._window = limits, window
        self._timeout_s, self._retry_after = timeout_s, retry_after
        self._fallback = MemoryLoginLimiter(clock, limits, window)
        self._away_until: datetime | None = None

    async def blocked(self, login: str, address: str) -> bool:
        horizon = (self._clock() - self._window).timestamp()
        keys = limit_keys(login, address, self._limits)

        async def count(pipe: Pipeline) -> list[Any]:
            for key, _ in keys:
                pipe.zremrangebyscore(self._prefix + key, "-inf", horizon)
                pipe.zcard(self._prefix + key)
            return list(await pipe.execute())

        counts = await self._shared(count)
        if counts is None:
            return await self._fallback.blocked(login, address)
        return any(int(n) >= most for n, (_, most) in zip(counts[1::2], keys, strict=True))

    async def failed(self, login: str, address: str) -> None:
        now = self._clock().timestamp()
        ttl = int(self._window.total_seconds()) + 1

        async def add(pipe: Pipeline) -> list[Any]:
            for key, _ in limit_keys(login, address, self._limits):
                pipe.zadd(self._prefix + key, {f"{now}:{secrets.token_hex(4)}": now})
                pipe.expire(self._prefix + key, ttl)
            return list(await pipe.execute())

        if await self._shared(add) is None:
            await self._fallback.failed(login, address)

    async def succeeded(self, login: str, address: str) -> None:
        async def clear(pipe: Pipeline) -> list[Any]:
            pipe.delete(*(self._prefix + k for k in cleared_keys(login, address)))
            return list(await pipe.execute())

        if await self._shared(clear) is None:
            await self._fallback.succeeded(login, address)

    async def _shared(self, commands: Callable[[Pipeline], Awaitable[list[Any]]],
                      ) -> list[Any] | None:
        """The commands' results from Redis; None while it is away (counted in process)."""
        if self._away_until is not None and self._clock() < self._away_until:
            return None
        try:
            # Bounded here too: a client built without timeouts must not hang a login.
            async with asyncio.timeout(self._timeout_s * 2):
                async with self._redis.pipeline(transaction=False) as pipe:
                    results = await commands(pipe)
        except (RedisError, OSError, TimeoutError) as exc:
            if self._away_until is None:
                log.warning("Redis unreachable (%s): counting failed logins in this process",
                            type(exc).__name__)
            self._away_until = self._clock() + self._retry_after
            return None
        if self._away_until is not None:
            log.info("Redis is back: failed logins are counted there again")
            self._away_until = None
        return results
