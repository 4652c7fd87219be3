"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from analytics.retention import purge_raw_texts
from storage.engine import build_engine, build_sessions
from storage.files import SqlFileStore
from storage.models import Base, StoredFile


async def test_migrations_match_the_models(database_url: str) -> None:
    engine = build_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    finally:
        await engine.dispose()
    assert diff == []


async def test_desk_files_are_kept_and_purged_with_the_retention(database_url: str) -> None:
    engine = build_engine(database_url)
    sessions = build_sessions(engine)
    store = SqlFileStore(sessions)
    then = datetime(2026, 1, 10, tzinfo=UTC)
    try:
        old = await store.save("старый.pdf", "application/pdf", b"%PDF old", None, then)
        new = await store.save("новый.pdf", "application/pdf", b"%PDF new", None,
                               then + timedelta(days=200))
        assert (await store.fetch(old)).content == b"%PDF old"
        purged = await purge_raw_texts(sessions, then + timedelta(days=365), days=180)
        assert purged.files == 1
        async with sessions() as s:
            assert await s.scalar(select(func.count()).select_from(StoredFile)) == 1
        assert (await store.fetch(new)).name == "новый.pdf"
    finally:
        await engine.dispose()
