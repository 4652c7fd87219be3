"""What /healthz checks besides the process: that the database answers, asked sparingly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from handlers.secrets import error_text

# A load balancer may probe every replica every second or more often, several balancers at
# once: one answer serves every probe for this long, so probes cost the database at most one
# SELECT 1 per replica per interval.
CACHE_S = 1.5
# Longer than a healthy SELECT 1 ever takes, even under load, and short enough that a probe
# with a timeout of a few seconds gets a 503 rather than timing out itself.
TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class DatabaseHealth:
    ok: bool
    reason: str = ""  # why not, for the operator: no password, one line


class DatabaseProbe:
    """Asks the database `SELECT 1` at most once per `cache_s`; concurrent probes share it."""

    def __init__(self, ping: Callable[[], Awaitable[None]], *,
                 monotonic: Callable[[], float] = time.monotonic,
                 cache_s: float = CACHE_S, timeout_s: float = TIMEOUT_S) -> None:
        self._ping, self._now = ping, monotonic
        self._cache_s, self._timeout_s = cache_s, timeout_s
        self._last: tuple[float, DatabaseHealth] | None = None
        self._asking: asyncio.Task[DatabaseHealth] | None = None

    async def check(self) -> DatabaseHealth:
        if self._last is not None and self._now() - self._last[0] < self._cache_s:
            return self._last[1]
        if self._asking is None:
            self._asking = asyncio.create_task(self._ask())
        # Shielded: a probe that gives up must not cancel the answer the others wait for.
        return await asyncio.shield(self._asking)

    async def _ask(self) -> DatabaseHealth:
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._ping()
            health = DatabaseHealth(True)
        except TimeoutError:
            health = DatabaseHealth(False, f"the database did not answer in {self._timeout_s} s")
        except Exception as exc:
            health = DatabaseHealth(False, "the database failed: "
                                    + error_text(getattr(exc, "orig", None) or exc)
                                    .splitlines()[0])
        self._last, self._asking = (self._now(), health), None
        return health


def build_database_probe(engine: AsyncEngine) -> DatabaseProbe:
    async def ping() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return DatabaseProbe(ping)
