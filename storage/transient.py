"""Database errors that a second try of the same unit of work may well not meet."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL's SQLSTATEs: serialization failure, deadlock (two replicas storing the same
# message, acceptance), lock not available, and the server going away (restart, failover,
# pg_terminate_backend); class 08 (connection exceptions) is matched as a whole.
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03"})
_SQLITE_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
ATTEMPTS = 3
FIRST_PAUSE_S = 0.05


def is_transient(exc: BaseException) -> bool:
    """A deadlock, a serialization failure, a busy database or a lost connection."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: BaseException | None = exc
    for _ in range(5):  # SQLAlchemy's error, the adapter's, the driver's
        if seen is None:
            return False
        state = getattr(seen, "sqlstate", None) or getattr(seen, "pgcode", None)
        if isinstance(state, str) and (state in TRANSIENT_SQLSTATES or state.startswith("08")):
            return True
        if getattr(seen, "sqlite_errorcode", None) in _SQLITE_BUSY:
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def failure_status(exc: BaseException) -> str:
    """An inbound event's status after its processing failed: "received" (the replay job
    runs it again later) for a transient database error, "failed" for anything else."""
    return "received" if is_transient(exc) else "failed"


async def retry_transient(call: Callable[[], Awaitable[T]], what: str,
                          attempts: int = ATTEMPTS, pause_s: float = FIRST_PAUSE_S) -> T:
    """Runs call again after a short, growing pause when it fails with a transient error;
    the last attempt's error goes to the caller. call must be safe to run again: a unit of
    work whose transaction rolled back, or one the stored dedupe keys make idempotent."""
    for attempt in range(1, attempts):
        try:
            return await call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("%s: transient database error (attempt %s of %s), trying again: %s",
                        what, attempt, attempts, str(exc).splitlines()[0][:200])
        await asyncio.sleep(pause_s * 2 ** (attempt - 1))
    return await call()
