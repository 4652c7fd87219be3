"""Raw inbound events, specialists behind platform accounts, and staff threads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import Conversation, InboundEvent, Specialist


class SqlInboundLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def keep(self, channel: str, key: str, kind: str, raw: str, now: datetime) -> bool:
        try:
            async with self._sessions.begin() as s:
                s.add(InboundEvent(channel=channel, dedupe_key=f"{channel}:{key}",
                                   kind=kind[:64], raw=raw, received_at=now))
            return True
        except IntegrityError:
            return False

    async def mark(self, channel: str, key: str, status: str, error: str = "") -> None:
        async with self._sessions.begin() as s:
            await s.execute(update(InboundEvent)
                            .where(InboundEvent.dedupe_key == f"{channel}:{key}")
                            .values(status=status[:16], error=error[:500]))


    async def unfinished(self, channel: str, before: datetime, limit: int) -> list[str]:
        async with self._sessions() as s:
            rows = await s.scalars(select(InboundEvent.raw).where(
                InboundEvent.channel == channel, InboundEvent.status == "received",
                InboundEvent.received_at < before).order_by(InboundEvent.id).limit(limit))
            return list(rows)


class SqlStaffDirectory:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    async def ensure(self, external_id: str, display_name: str) -> int:
        platform, _, account = external_id.partition(":")
        column = (Specialist.telegram_user_id if platform == "telegram"
                  else Specialist.vk_user_id)
        for _attempt in range(2):
            async with self._sessions() as s:
                found = await s.scalar(select(Specialist.id).where(column == account))
            if found is not None:
                return int(found)
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
