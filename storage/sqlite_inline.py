"""SQLite for the asyncio engine without a thread hop per call: the `sqlite+inline` driver.

aiosqlite runs every call (cursor, execute, fetch, commit) in its own thread and hands the
result back through the event loop; with the GIL shared by the loop that costs 0.3-1 ms per
call on this machine, where SQLite itself needs 10-50 us for the primary-key lookups and
one-row writes of the conversation path. This module offers the same asyncio interface as
aiosqlite (so SQLAlchemy's aiosqlite dialect drives it unchanged) but runs each call on the
stdlib driver right away, in the event loop's thread. docs/benchmarks.md ("Telegram updates
per second") has the figures.

What keeps it from stalling the event loop:
- WAL with synchronous=NORMAL (storage/engine.py): a commit appends to the WAL without fsync,
  and readers never wait for the writer.
- SQLite's own busy handler is off (timeout 0). When another process holds the write lock,
  the statement is retried after an asynchronous sleep (1 ms doubling to 50 ms, 30 s in all),
  so the loop keeps serving while it waits.
- Checkpoints, which write and fsync the database file, do not run inside a commit here
  (wal_autocheckpoint=0 on this connection); `checkpoint()` runs them in a worker thread and
  the main job calls it periodically (priemnaya/runtime.py).
- Heavy read-only work (analytics over months) keeps the threaded aiosqlite driver:
  `build_engine(url, inline=False)`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import types
from collections.abc import Callable, Generator, Iterable, Sequence
from sqlite3 import (  # noqa: F401  (re-exported: the dialect reads them off this module)
    DatabaseError,
    Error,
    IntegrityError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    sqlite_version,
    sqlite_version_info,
)
from typing import Any, TypeVar

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)

__version__ = "1.0"
BUSY_BUDGET_S = 30.0
FIRST_WAIT_S = 0.001
MAX_WAIT_S = 0.05
T = TypeVar("T")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


async def _patiently(connection: sqlite3.Connection, call: Callable[[], T]) -> T:
    """Runs call; while another process holds the lock, waits without blocking the loop.

    Only a statement that opened its transaction is retried: one inside a transaction that
    already wrote holds the write lock and cannot meet a busy database, and retrying one that
    failed inside an open read transaction could never succeed, so that error goes back to
    the caller.
    """
    started, wait = time.monotonic(), FIRST_WAIT_S
    while True:
        fresh = not connection.in_transaction
        try:
            return call()
        except sqlite3.OperationalError as exc:
            if not (_is_busy(exc) and fresh) or time.monotonic() - started > BUSY_BUDGET_S:
                raise
            if connection.in_transaction:
                connection.rollback()  # only the BEGIN of the statement that failed
        await asyncio.sleep(wait)
        wait = min(wait * 2, MAX_WAIT_S)


class Cursor:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._cursor = connection.cursor()

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> Cursor:
        await _patiently(self._connection, lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        rows = list(parameters)
        await _patiently(self._connection, lambda: self._cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(size or self._cursor.arraysize)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None


class _Immediate:
    """Stands in for aiosqlite's request queue: SQLAlchemy sets isolation levels through it."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class Connection:
    """The part of aiosqlite.Connection that SQLAlchemy's aiosqlite dialect uses."""

    _tx = _Immediate()

    def __init__(self, database: str, **kwargs: Any) -> None:
        kwargs["timeout"] = 0  # waiting for a lock is done by _patiently, asynchronously
        kwargs["check_same_thread"] = False  # the pool may close it from a finaliser
        self._database, self._kwargs = database, kwargs
        self._conn: sqlite3.Connection | None = None
        self._thread = types.SimpleNamespace(daemon=True)  # the dialect marks aiosqlite's

    def __await__(self) -> Generator[Any, None, Connection]:
        if self._conn is None:
            self._conn = sqlite3.connect(self._database, **self._kwargs)
        return self
        yield  # pragma: no cover - makes this a generator, as __await__ must be

    @property
    def _connection(self) -> sqlite3.Connection | None:
        return self._conn

    def _live(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._live().isolation_level

    def cursor(self) -> Cursor:
        return Cursor(self._live())

    async def commit(self) -> None:
        conn = self._live()
        await _patiently(conn, conn.commit)

    async def rollback(self) -> None:
        self._live().rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._live().create_function(*args, **kwargs)


def connect(database: str, **kwargs: Any) -> Connection:
    return Connection(database, **kwargs)


class InlineSQLiteDialect(SQLiteDialect_aiosqlite):
    driver = "inline"
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return AsyncAdapt_aiosqlite_dbapi(__import__(__name__, fromlist=["connect"]), sqlite3)


def checkpoint(path: str, mode: str = "PASSIVE") -> tuple[int, int]:
    """Blocking: copies the WAL into the database file; run it in a worker thread.

    Returns the WAL's frames and how many of them are now in the database (PASSIVE: frames a
    reader still needs stay for the next run). TRUNCATE waits (5 s at most) for readers and
    writers to finish, then empties the WAL file; its frames are (0, 0) once it has.
    """
    if mode not in ("PASSIVE", "TRUNCATE"):
        raise ValueError(f"unknown checkpoint mode {mode!r}")
    conn = sqlite3.connect(path, timeout=5)
    try:
        _busy, frames, done = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        return int(frames), int(done)
    finally:
        conn.close()


registry.register("sqlite.inline", __name__, "InlineSQLiteDialect")
