"""Applies Alembic migrations; called by `priemnaya db upgrade` and by the tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@dataclass(frozen=True, slots=True)
class Migrated:
    """The schema's revision before and after an upgrade; None: no schema at all."""

    before: str | None
    after: str | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


def upgrade(url: str, revision: str = "head") -> Migrated:
    """Blocking: call it outside a running event loop, or through upgrade_async."""
    config = alembic_config(url)
    command.upgrade(config, revision)
    # Read by env.py under the migration lock: a replica that waited for another one's
    # upgrade finds the schema at head already and says it changed nothing.
    return Migrated(config.attributes.get("before"), config.attributes.get("after"))


async def upgrade_async(url: str, revision: str = "head") -> Migrated:
    # env.py starts its own event loop, so it runs in a worker thread.
    return await asyncio.to_thread(upgrade, url, revision)
