"""On SQLite an erased text is gone from the files themselves, the WAL included."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics.retention import purge_raw_texts
from handlers.model import Channel, IncomingMessage
from storage import sqlite_inline
from storage.conversations import SqlConversationStore
from storage.engine import _inline_pragmas, _sqlite_pragmas

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
PASSPORT = "паспорт 4510 123456"
# Longer than a page: SQLite keeps most of it on overflow pages, freed when it is blanked.
LONG = "Заявление. " + "Прошу назначить пособие. " * 300 + "СНИЛС 112-233-445 95"


def sqlite_path(sessions: async_sessionmaker[AsyncSession]) -> Path:
    url = sessions.kw["bind"].url
    if url.get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL frees rows by VACUUM: docs/deployment.md")
    return Path(url.database)


def found(db: Path, text: str) -> list[str]:
    """The files of the database whose bytes hold the text."""
    needle = text.encode()
    return [p.name for p in (db, db.with_name(db.name + "-wal"))
            if p.exists() and needle in p.read_bytes()]


async def stored(sessions: async_sessionmaker[AsyncSession], db: Path
                 ) -> tuple[SqlConversationStore, int]:
    """A client's three messages; returns the store and the client's id."""
    store = SqlConversationStore(sessions)
    for n, text in enumerate((PASSPORT, LONG, PASSPORT)):
        if n == 2:  # part of it checkpointed already, as the service does every 10 s
            await asyncio.to_thread(sqlite_inline.checkpoint, str(db))
        rec = await store.record_incoming(IncomingMessage(Channel.WEB, "tok", f"w{n}", text),
                                          NOW)
    assert rec is not None
    assert found(db, "4510 123456") == ["test.db", "test.db-wal"]
    return store, rec.client.id


async def test_an_erased_clients_texts_leave_the_database_and_wal_files(sessions) -> None:
    db = sqlite_path(sessions)
    store, client_id = await stored(sessions, db)
    await store.erase_client(client_id, NOW)
    assert found(db, "4510 123456") == []
    assert found(db, "112-233-445 95") == []


async def test_texts_erased_by_retention_leave_the_files_too(sessions) -> None:
    db = sqlite_path(sessions)
    store, _ = await stored(sessions, db)
    assert await store.close_idle(NOW + timedelta(hours=1), NOW + timedelta(hours=1)) == 1
    purged = await purge_raw_texts(sessions, NOW + timedelta(days=31), days=30)
    assert purged.messages == 3
    assert found(db, "4510 123456") == []
    assert found(db, "112-233-445 95") == []


@pytest.mark.parametrize("inline", [True, False])
def test_connections_zero_what_they_delete_whatever_sqlites_own_default(
        inline: bool, tmp_path: Path) -> None:
    # Debian builds SQLite with secure_delete on; others (macOS, some wheels) with it off.
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("PRAGMA secure_delete=OFF")
    (_inline_pragmas if inline else _sqlite_pragmas)(conn, None)
    assert conn.execute("PRAGMA secure_delete").fetchone() == (1,)
    conn.close()
