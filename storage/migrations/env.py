"""Alembic environment: runs migrations over the project's async engine."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.engine import build_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


# Any fixed number, the same in every replica: pg_advisory_xact_lock's key for migrating.
MIGRATION_LOCK = 0x7072_6965_6D6E_6179  # "priemnay"


def _run(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Two replicas starting at once would both create the same tables (the loser fails on
        # pg_type's unique index): the second waits here, then finds the version at head.
        # The whole upgrade is one transaction (committed by run_online), which frees the lock.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    # Batch mode lets later migrations alter columns on SQLite, which has no ALTER COLUMN.
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True)
    migration = context.get_context()
    config.attributes["before"] = migration.get_current_revision()
    with context.begin_transaction():
        context.run_migrations()
    config.attributes["after"] = migration.get_current_revision()


async def run_online() -> None:
    engine = build_engine(str(config.get_main_option("sqlalchemy.url")))
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
