"""After an erasure on SQLite: the erased texts out of the WAL file as well as the database."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from storage.sqlite_inline import checkpoint

log = logging.getLogger(__name__)


async def truncate_wal(sessions: async_sessionmaker[Any]) -> None:
    """Moves the WAL into the database file and empties it; nothing on other databases.

    The WAL keeps every page as it was written, the erased texts included, until a later
    write happens to overwrite that stretch of the file: minutes or hours on a quiet service
    (the periodic checkpoint, priemnaya/runtime.py, is PASSIVE and leaves the file as it is).
    """
    engine: AsyncEngine = sessions.kw["bind"]
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    try:
        frames, done = await asyncio.to_thread(checkpoint, url.database, "TRUNCATE")
    except sqlite3.Error as exc:
        log.warning("the WAL was not emptied after an erasure: %s", exc)
        return
    if frames or done:  # a reader held it past the wait: the next erasure or stop empties it
        log.warning("the WAL was not emptied after an erasure: a reader held it")
