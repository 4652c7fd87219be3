"""SqlStaffBacklog: posts for the specialists' group kept through its outage, in order."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.secrets import redact
from handlers.staff_ports import BacklogItem, BacklogKind
from storage.models import Client, Conversation, StaffBacklogItem

# A conversation whose head is being sent is left to that replica for this long.
LEASE = timedelta(seconds=60)


class SqlStaffBacklog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def add(self, conversation_id: int, surface: str, kind: BacklogKind,
                  parts: Sequence[str], now: datetime, at: datetime, error: str) -> int | None:
        async with self._sessions.begin() as s:
            erased = await s.scalar(select(Client.erased_at).join(
                Conversation, Conversation.client_id == Client.id)
                .where(Conversation.id == conversation_id))
            if erased is not None:
                return None
            row = StaffBacklogItem(
                conversation_id=conversation_id, surface=surface[:64], kind=str(kind),
                parts=list(parts), next_attempt_at=at, last_error=redact(error)[:200],
                created_at=now)
            s.add(row)
            await s.flush()
            return int(row.id)

    async def waiting(self, conversation_id: int) -> bool:
        async with self._sessions() as s:
            return await s.scalar(select(StaffBacklogItem.id).where(
                StaffBacklogItem.conversation_id == conversation_id).limit(1)) is not None

    async def due(self, surface: str, now: datetime, limit: int) -> list[int]:
        heads = (select(func.min(StaffBacklogItem.id))
                 .where(StaffBacklogItem.surface == surface)
                 .group_by(StaffBacklogItem.conversation_id))
        async with self._sessions.begin() as s:
            query = (select(StaffBacklogItem).where(
                StaffBacklogItem.id.in_(heads), StaffBacklogItem.next_attempt_at <= now)
                .order_by(StaffBacklogItem.id).limit(limit))
            if s.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(await s.scalars(query))
            for row in rows:
                row.next_attempt_at = now + LEASE
            return [r.conversation_id for r in rows]

    async def head(self, conversation_id: int) -> BacklogItem | None:
        async with self._sessions() as s:
            row = await s.scalar(select(StaffBacklogItem).where(
                StaffBacklogItem.conversation_id == conversation_id)
                .order_by(StaffBacklogItem.id).limit(1))
        if row is None:
            return None
        return BacklogItem(row.id, row.conversation_id, BacklogKind(row.kind), tuple(row.parts),
                           row.lost, row.attempts, row.created_at)

    async def done(self, item_id: int) -> None:
        async with self._sessions.begin() as s:
            await s.execute(delete(StaffBacklogItem).where(StaffBacklogItem.id == item_id))

    async def hold(self, item_id: int, kind: BacklogKind, parts: Sequence[str],
                   at: datetime, error: str) -> None:
        async with self._sessions.begin() as s:
            await s.execute(update(StaffBacklogItem).where(StaffBacklogItem.id == item_id).values(
                kind=str(kind), parts=list(parts), next_attempt_at=at,
                attempts=StaffBacklogItem.attempts + 1, last_error=redact(error)[:200]))

    async def expire(self, conversation_id: int, before: datetime) -> int:
        async with self._sessions.begin() as s:
            rows = list(await s.scalars(select(StaffBacklogItem).where(
                StaffBacklogItem.conversation_id == conversation_id)
                .order_by(StaffBacklogItem.id)))
            # The topic is opened however late: its history shows what was given up on.
            old = [r for r in rows if r.kind not in (BacklogKind.LOST, BacklogKind.OPEN)
                   and r.created_at < before]
            if not old:
                return 0
            # The note takes the place of the oldest, so it is posted before what followed.
            note, gone = (rows[0], old) if rows[0].kind == BacklogKind.LOST else (old[0], old[1:])
            note.lost += len(old)
            note.kind, note.parts = str(BacklogKind.LOST), []
            for row in gone:
                await s.delete(row)
            return len(old)
