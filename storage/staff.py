"""Raw inbound events, specialists behind platform accounts, and staff threads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.ports import Texts
from storage.engine import in_core_transaction
from storage.group_commit import GroupCommit
from storage.models import Conversation, InboundEvent, Specialist
from storage.raw_names import ERASED_KIND
from storage.replay_backoff import claim_due

_events = cast(Table, InboundEvent.__table__)
_KEEP = insert(_events)
# An event kept before (a re-delivery) is skipped by the database, which returns the keys it
# did keep: one statement, where a SELECT of the known keys and an INSERT were two.
_KEEP_NEW = {
    "postgresql": postgresql.insert(_events).on_conflict_do_nothing()
    .returning(_events.c.dedupe_key),
    "sqlite": sqlite.insert(_events).on_conflict_do_nothing().returning(_events.c.dedupe_key),
}
# An erased client's event keeps its row (a re-delivery is still known), not its body.
_MARK = (update(_events).where(_events.c.dedupe_key == bindparam("key"))
         .values(status=bindparam("status"), error=bindparam("error"),
                 raw=case((_events.c.kind == ERASED_KIND, ""), else_=_events.c.raw)))

log = logging.getLogger(__name__)

# How long a processing status waits for others to share its transaction.
MARK_DELAY_S = 0.05
MARK_BATCH = 500


def _keep_new(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[bool]:
    """Inserts the rows whose key is not kept yet; per row, whether it was new."""
    kept = set(conn.execute(_KEEP_NEW[conn.dialect.name], list(rows)).scalars())
    fresh = []
    for row in rows:
        fresh.append(row["dedupe_key"] in kept)
        kept.discard(row["dedupe_key"])  # a key twice in one batch: the first row is kept
    return fresh


def _execute(conn: Connection, statement: Any, parameters: Any) -> None:
    conn.execute(statement, parameters)


class SqlInboundLog:
    """Keeps raw platform events before anything else, and their processing status.

    Concurrent keeps (and marks) share a transaction (storage/group_commit.py); each caller
    still returns only after its own row is committed.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._keeps: GroupCommit[dict[str, Any], bool] = GroupCommit(self._keep_batch)
        self._marks: list[dict[str, str]] = []
        self._marker: asyncio.Task[None] | None = None
        self._writing = asyncio.Lock()

    async def keep(self, channel: str, key: str, kind: str, raw: str, now: datetime) -> bool:
        """False when an event with this key was kept before (a re-delivery)."""
        return await self._keeps.submit({
            "channel": channel, "dedupe_key": f"{channel}:{key}", "kind": kind[:64],
            "raw": raw, "received_at": now})

    async def mark(self, channel: str, key: str, status: str, error: str = "") -> None:
        """Written within MARK_DELAY_S, together with the other updates' statuses.

        The caller does not wait for the write: a status lost to a crash leaves its event
        "received", and the replay job processes it again, which the stored message's dedupe
        key turns into nothing. Marks were a transaction per few updates, 4-6 % of the
        Telegram pipeline's time (docs/benchmarks.md).
        """
        self._marks.append({"key": f"{channel}:{key}", "status": status[:16],
                            "error": error[:500]})
        if self._marker is None:
            self._marker = asyncio.create_task(self._mark_later())

    async def _mark_later(self) -> None:
        try:
            await asyncio.sleep(MARK_DELAY_S)
        finally:
            self._marker = None  # statuses marked from now on wait for the next write
        await self._write(self._take())

    async def flush(self) -> None:
        """Writes the statuses marked so far, after a write already under way (shutdown,
        drained channels, an erasure, tests)."""
        await self._write(self._take())

    def _take(self) -> list[dict[str, str]]:
        rows, self._marks = self._marks, []
        return rows

    async def _write(self, rows: list[dict[str, str]]) -> None:
        async with self._writing:
            for start in range(0, len(rows), MARK_BATCH):
                chunk = rows[start:start + MARK_BATCH]
                try:
                    await in_core_transaction(self._sessions, _execute, _MARK, chunk)
                except Exception:  # left "received": the replay job finishes them
                    log.exception("could not record the processing status of %s events",
                                  len(chunk))

    async def _keep_batch(self, rows: Sequence[dict[str, Any]]) -> list[bool]:
        try:
            return await in_core_transaction(self._sessions, _keep_new, rows)
        except IntegrityError:
            # Another process kept one of these keys in the meantime: one at a time.
            return [await self._keep_one(row) for row in rows]

    async def _keep_one(self, row: dict[str, Any]) -> bool:
        try:
            await in_core_transaction(self._sessions, _execute, _KEEP, row)
            return True
        except IntegrityError:
            return False

    async def unfinished(self, channel: str, before: datetime, now: datetime,
                         limit: int) -> list[str]:
        async with self._sessions.begin() as s:
            return await claim_due(s, channel, before, now, limit)


class SqlStaffDirectory:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 clock: Callable[[], datetime], texts: Texts | None = None) -> None:
        self._sessions = sessions
        self._clock = clock
        self._texts = texts

    def _unnamed(self, platform: str, account: str) -> str:
        """A name for an account the platform gave none (a VK community manager answering in
        the community's inbox): shown to people instead of its login «vk:100000009»."""
        if self._texts is None:
            return ""
        return self._texts.render("staff_account_name", platform=platform, account=account)

    async def ensure(self, external_id: str, display_name: str) -> int:
        platform, _, account = external_id.partition(":")
        column = (Specialist.telegram_user_id if platform == "telegram"
                  else Specialist.vk_user_id)
        display_name = display_name.strip() or self._unnamed(platform, account)
        for _attempt in range(2):
            async with self._sessions() as s:
                found = await s.scalar(select(Specialist).where(column == account))
            if found is not None:
                if not found.display_name and display_name:  # made before names were given
                    async with self._sessions.begin() as s:
                        await s.execute(update(Specialist).where(Specialist.id == found.id)
                                        .values(display_name=display_name[:200]))
                return int(found.id)
            try:
                async with self._sessions.begin() as s:
                    row = Specialist(login=external_id[:64], display_name=display_name[:200],
                                     created_at=self._clock())
                    setattr(row, column.key, account)
                    s.add(row)
                    await s.flush()
                    return int(row.id)
            except IntegrityError:
                continue  # created concurrently: read it again
        raise RuntimeError(f"cannot register specialist {external_id}")

    async def name_of(self, specialist_id: int) -> str:
        async with self._sessions() as s:
            found = (await s.execute(select(Specialist.display_name, Specialist.login)
                                     .where(Specialist.id == specialist_id))).first()
        return (found.display_name or found.login) if found else ""


class SqlStaffThreads:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def thread_of(self, conversation_id: int) -> str:
        async with self._sessions() as s:
            value = await s.scalar(select(Conversation.staff_thread)
                                   .where(Conversation.id == conversation_id))
            return value or ""

    async def set_thread(self, conversation_id: int, thread: str) -> None:
        async with self._sessions.begin() as s:
            await s.execute(update(Conversation).where(Conversation.id == conversation_id)
                            .values(staff_thread=thread[:64]))

    async def conversation_of(self, thread: str) -> int | None:
        async with self._sessions() as s:
            found = await s.scalar(select(Conversation.id)
                                   .where(Conversation.staff_thread == thread)
                                   .order_by(Conversation.id.desc()).limit(1))
            return int(found) if found is not None else None
