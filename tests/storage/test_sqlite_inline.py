"""The sqlite+inline driver: SQLite on the event loop's thread that never stalls the loop."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, literal, select, text

from storage import sqlite_inline
from storage.engine import build_engine, build_sessions
from storage.models import InboundEvent
from storage.staff import SqlInboundLog

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "inline.db"
    shutil.copy(sqlite_template, path)
    return path


async def test_engine_uses_the_inline_driver_with_wal(db: Path) -> None:
    engine = build_engine(f"sqlite+aiosqlite:///{db}")
    try:
        assert engine.dialect.driver == "inline"
        async with build_sessions(engine)() as s:
            assert await s.scalar(text("PRAGMA journal_mode")) == "wal"
            assert await s.scalar(text("PRAGMA wal_autocheckpoint")) == 0
    finally:
        await engine.dispose()


async def test_a_lock_held_by_another_process_is_waited_for_without_blocking_the_loop(
        db: Path) -> None:
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    engine = build_engine(f"sqlite+aiosqlite:///{db}")
    log = SqlInboundLog(build_sessions(engine))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.002)

    beat = asyncio.create_task(ticker())
    try:
        write = asyncio.create_task(log.keep("telegram", "1", "message", "{}", NOW))
        await asyncio.sleep(0.2)
        assert not write.done()
        assert ticks >= 20  # the loop kept running while the write waited
        other.execute("COMMIT")
        assert await asyncio.wait_for(write, 5) is True
        async with build_sessions(engine)() as s:
            assert await s.scalar(select(func.count()).select_from(InboundEvent)) == 1
    finally:
        beat.cancel()
        other.close()
        await engine.dispose()


async def test_a_lock_never_released_ends_in_a_clear_error(
        db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_inline, "BUSY_BUDGET_S", 0.1)
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    engine = build_engine(f"sqlite+aiosqlite:///{db}")
    try:
        with pytest.raises(Exception, match="database is locked"):
            await SqlInboundLog(build_sessions(engine)).keep("vk", "2", "message", "{}", NOW)
    finally:
        other.close()
        await engine.dispose()


async def test_checkpoint_moves_the_wal_into_the_database(db: Path) -> None:
    engine = build_engine(f"sqlite+aiosqlite:///{db}")
    log = SqlInboundLog(build_sessions(engine))
    try:
        for n in range(50):
            await log.keep("vk", str(n), "message", "x" * 2000, NOW)
        frames, done = await asyncio.to_thread(sqlite_inline.checkpoint, str(db))
        assert frames > 0 and done == frames
    finally:
        await engine.dispose()


def test_the_main_job_checkpoints_only_a_sqlite_file() -> None:
    from priemnaya.runtime import sqlite_file

    assert sqlite_file("sqlite+aiosqlite:///data/p.db") == "data/p.db"
    assert sqlite_file("sqlite+aiosqlite:///:memory:") is None
    assert sqlite_file("postgresql+asyncpg://u@h/db") is None


async def test_lower_and_upper_fold_cyrillic_on_every_database(sessions) -> None:
    async with sessions() as s:
        assert await s.scalar(select(func.lower("ОТОПЛЕНИЕ Ёж"))) == "отопление ёж"
        assert await s.scalar(select(func.upper("субсидия"))) == "СУБСИДИЯ"
        found = literal("ПОСОБИЕ НА РЕБЁНКА").icontains("пособие на ребёнка")
        assert await s.scalar(select(found))
