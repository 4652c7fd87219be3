"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import column, func, insert, select, table

from analytics.retention import purge_raw_texts
from storage.engine import build_engine, build_sessions
from storage.files import SqlFileStore
from storage.migrate import alembic_config, upgrade_async
from storage.models import Base, InboundEvent, StoredFile

EVENTS_0008 = table("inbound_events", *(column(name) for name in (
    "channel", "dedupe_key", "kind", "raw", "status", "error", "received_at")))


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


async def test_the_vk_secret_kept_before_is_blanked_by_the_migration(database_url: str) -> None:
    """Raw VK Callback events kept before 0009 held the community's secret verbatim."""
    await asyncio.to_thread(command.downgrade, alembic_config(database_url), "0008")
    engine = build_engine(database_url)
    sessions = build_sessions(engine)
    at = datetime(2026, 11, 1, tzinfo=UTC)
    bodies = {
        "vk:1": ("vk", {"type": "message_new", "event_id": "1", "secret": "example_secret",
                        "object": {"message": {"text": "Как оформить «пособие»?"}}}),
        "vk:2": ("vk", {"type": "message_new", "event_id": "2", "object": {}}),
        "telegram:3": ("telegram", {"update_id": 3, "secret": "not VK's"}),
    }
    try:
        async with sessions.begin() as s:  # the table as 0008 made it, not as the model is
            await s.execute(insert(EVENTS_0008), [
                {"channel": channel, "dedupe_key": key, "kind": "", "raw": json.dumps(body),
                 "status": "received", "error": "", "received_at": at}
                for key, (channel, body) in bodies.items()])
        await upgrade_async(database_url)
        async with sessions() as s:
            kept = {e.dedupe_key: json.loads(e.raw) for e in await s.scalars(
                select(InboundEvent))}
    finally:
        await engine.dispose()
    assert kept["vk:1"] == bodies["vk:1"][1] | {"secret": "[secret]"}
    assert kept["vk:2"] == bodies["vk:2"][1]
    assert kept["telegram:3"] == bodies["telegram:3"][1]
