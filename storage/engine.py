"""Engine and session factory; SQLite gets WAL and a busy timeout, PostgreSQL asyncpg."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import greenlet_spawn

P = ParamSpec("P")
R = TypeVar("R")


def build_engine(url: str, inline: bool = True) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    if inline:
        import storage.sqlite_inline  # noqa: F401  (registers the dialect)

        url = parsed.set(drivername="sqlite+inline").render_as_string(hide_password=False)
    # SQLite has one writer at a time: connections that race for the lock sleep in its busy
    # handler (measured: 15 updates/s with the default pool of 5, 24 with one connection).
    # One connection serialises the work without those sleeps.
    connect_args = {} if inline else {"timeout": 30}
    engine = create_async_engine(url, connect_args=connect_args, pool_size=1,
                                 max_overflow=0, pool_timeout=60)
    event.listen(engine.sync_engine, "connect",
                 _inline_pragmas if inline else _sqlite_pragmas)
    return engine


def _inline_pragmas(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record, busy_timeout_ms=0)
    cursor = dbapi_connection.cursor()
    # A checkpoint writes and fsyncs the database file: not inside a commit on the event
    # loop's thread, but from checkpoint_forever() in a worker thread.
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_timeout_ms: int = 30000) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web pages read while the bot writes; NORMAL is durable enough with WAL
    # and doubles single-row commit throughput (shared/STACK.md).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # An erased text's bytes are zeroed where it stood, not left in free space for `strings`
    # to find (152-ФЗ erasure); ON, not FAST: FAST leaves freed overflow pages (long texts).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.close()
    # SQLite's own lower()/upper() fold ASCII only; searches (icontains) must also match
    # "ОТОПЛЕНИЕ" typed with caps lock when "отопление" is asked for, as on PostgreSQL.
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    dbapi_connection.create_function("upper", 1, _unicode_upper, deterministic=True)


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _unicode_upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def core_transaction(sessions: async_sessionmaker[Any]) -> AbstractAsyncContextManager[
        AsyncConnection]:
    """A transaction on a bare connection of the sessions' engine, for Core statements.

    It skips the ORM session's bookkeeping: about 0.2 ms less per transaction on the
    per-message path (docs/benchmarks.md).
    """
    engine: AsyncEngine = sessions.kw["bind"]
    return engine.begin()


async def in_core_transaction(sessions: async_sessionmaker[Any],
                              work: Callable[Concatenate[Connection, P], R],
                              *args: P.args, **kwargs: P.kwargs) -> R:
    """work(conn, *args, **kwargs), a plain function, in one transaction on a bare connection.

    The checkout, the statements, the commit and the return to the pool run in one greenlet:
    core_transaction enters and leaves one per statement and per step of the transaction, and
    closes the connection in a task of its own. Measured on inline SQLite (CPU time, loaded
    machine, 2026-11-29): an empty transaction 239 -> 88 us, one INSERT 335 -> 165 us, three
    461 -> 248 us.
    """
    engine: AsyncEngine = sessions.kw["bind"]
    return await greenlet_spawn(_in_transaction, engine.sync_engine,
                                lambda conn: work(conn, *args, **kwargs))


def _in_transaction(engine: Engine, work: Callable[[Connection], R]) -> R:
    with engine.begin() as conn:
        return work(conn)


def build_sessions(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)
