"""Shared fixtures: databases on SQLite always, and on PostgreSQL when PRIEMNAYA_TEST_PG is set."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")
PG_URL = os.environ.get("PRIEMNAYA_TEST_PG", "")
PG_SKIP = "PostgreSQL tests need PRIEMNAYA_TEST_PG=postgresql+asyncpg://USER@HOST:PORT/DB"


def in_thread(fn: Callable[..., T], *args: object) -> T:
    """Session fixtures may be set up from inside a running loop; Alembic starts its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once; each test gets a copy, which is much faster than migrating again."""
    from storage.migrate import upgrade

    path = tmp_path_factory.mktemp("db") / "template.db"
    in_thread(upgrade, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this run, migrated once, dropped at the end."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    import asyncio

    import asyncpg
    from sqlalchemy.engine import make_url

    from storage.migrate import upgrade

    base = make_url(PG_URL)
    name = f"priemnaya_test_{uuid.uuid4().hex[:10]}"
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    in_thread(asyncio.run, admin(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    in_thread(upgrade, url)
    yield url
    in_thread(asyncio.run, admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each kind for every test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url = str(request.getfixturevalue("pg_database"))
    await truncate_all(url)
    return url


async def truncate_all(url: str) -> None:
    from sqlalchemy import text

    from storage.engine import build_engine
    from storage.models import Base

    engine = build_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[object]:
    from storage.engine import build_engine, build_sessions

    engine = build_engine(database_url)
    yield build_sessions(engine)
    await engine.dispose()
