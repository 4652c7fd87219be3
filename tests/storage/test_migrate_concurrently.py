"""Replicas starting together on a new PostgreSQL database all migrate it without failing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from storage.migrate import Migrated, alembic_config, upgrade
from tests.conftest import PG_SKIP, PG_URL, in_thread

ROOT = Path(__file__).resolve().parents[2]
# Each upgrade in a process of its own, as in two replicas: alembic's context is per process.
UPGRADE = "import sys; from storage.migrate import upgrade; print(upgrade(sys.argv[1]))"


async def _admin(dsn: str, sql: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        return [str(row[0]) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


@pytest.fixture
def empty_pg() -> Iterator[str]:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    base, name = make_url(PG_URL), f"priemnaya_migrate_{uuid.uuid4().hex[:10]}"
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    in_thread(asyncio.run, _admin(dsn, f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    in_thread(asyncio.run, _admin(dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_two_upgrades_at_once_both_succeed(empty_pg: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [subprocess.Popen([sys.executable, "-c", UPGRADE, empty_pg], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    head = ScriptDirectory.from_config(alembic_config(empty_pg)).get_current_head()
    dsn = make_url(empty_pg).set(drivername="postgresql").render_as_string(hide_password=False)
    versions = in_thread(asyncio.run, _admin(dsn, "SELECT version_num FROM alembic_version"))
    assert versions == [head]
    # The one that waited for the other's lock migrated nothing, and says so.
    said = sorted(line for out in outputs for line in out.splitlines() if "Migrated(" in line)
    assert said == [f"Migrated(before='{head}', after='{head}')",
                    f"Migrated(before=None, after='{head}')"], outputs


def test_an_upgrade_tells_the_revisions_it_went_between(empty_pg: str) -> None:
    head = ScriptDirectory.from_config(alembic_config(empty_pg)).get_current_head()
    assert in_thread(upgrade, empty_pg, "0009") == Migrated(None, "0009")
    done = in_thread(upgrade, empty_pg)
    assert (done, done.changed) == (Migrated("0009", head), True)
    done = in_thread(upgrade, empty_pg)
    assert (done, done.changed) == (Migrated(head, head), False)
