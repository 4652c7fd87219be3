"""How database and network failures are worded for the operator."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from priemnaya.cli_errors import database_reason, os_reason, shown_url


def test_the_password_is_never_shown() -> None:
    assert shown_url("postgresql+asyncpg://app:s3cret@db:5432/p") == (
        "postgresql+asyncpg://app:***@db:5432/p")
    assert shown_url("sqlite+aiosqlite:///data/p.db") == "sqlite+aiosqlite:///data/p.db"


def test_a_missing_table_on_postgresql_says_to_migrate() -> None:
    exc = DBAPIError("SELECT 1", {}, Exception('relation "specialists" does not exist'))
    assert database_reason(exc) == (
        'relation "specialists" does not exist; run `priemnaya db upgrade` first')


def test_an_os_error_is_worded_by_its_errno_not_asyncio() -> None:
    exc = OSError(98, "error while attempting to bind on address ('127.0.0.1', 80): ...")
    assert os_reason(exc) == "address already in use"
    assert os_reason(TimeoutError()) == "timed out"
