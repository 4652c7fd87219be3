"""Which database errors are worth a second try, and the retry around a unit of work."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from storage.transient import failure_status, is_transient, retry_transient


class DriverError(Exception):
    """What asyncpg raises, as SQLAlchemy's adapter wraps it: a SQLSTATE attribute."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def wrapped(sqlstate: str) -> DBAPIError:
    return DBAPIError("INSERT INTO messages ...", {}, DriverError(sqlstate))


def sqlite_error(code: int) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError("database is locked")
    exc.sqlite_errorcode = code
    return exc


@pytest.mark.parametrize("exc", [
    wrapped("40P01"),  # deadlock: the same VK message under two event ids, two replicas
    wrapped("40001"),  # serialization failure
    wrapped("57P01"),  # pg_terminate_backend, a server restart
    wrapped("08006"),  # connection failure
    DBAPIError("SELECT 1", {}, Exception("gone"), connection_invalidated=True),
    OperationalError("BEGIN", {}, sqlite_error(sqlite3.SQLITE_BUSY)),
])
def test_transient_errors(exc: Exception) -> None:
    assert is_transient(exc) and failure_status(exc) == "received"


@pytest.mark.parametrize("exc", [
    IntegrityError("INSERT", {}, DriverError("23505")),  # a unique key: no retry changes it
    wrapped("42P01"),  # an undefined table: not migrated
    KeyError("peer_id"),  # a bad payload
    ValueError("no"),
])
def test_permanent_errors(exc: Exception) -> None:
    assert not is_transient(exc) and failure_status(exc) == "failed"


async def test_a_transient_error_is_tried_again_and_a_permanent_one_is_not() -> None:
    calls: list[str] = []

    async def once_deadlocked() -> str:
        calls.append("try")
        if len(calls) == 1:
            raise wrapped("40P01")
        return "done"

    assert await retry_transient(once_deadlocked, "test", pause_s=0) == "done"
    assert calls == ["try", "try"]

    async def bad() -> str:
        calls.append("bad")
        raise KeyError("peer_id")

    with pytest.raises(KeyError):
        await retry_transient(bad, "test", pause_s=0)
    assert calls.count("bad") == 1


async def test_the_last_transient_error_reaches_the_caller() -> None:
    calls = 0

    async def always() -> None:
        nonlocal calls
        calls += 1
        raise wrapped("40001")

    with pytest.raises(DBAPIError):
        await retry_transient(always, "test", attempts=3, pause_s=0)
    assert calls == 3
