"""SqlStaffPosts: what the bot posted on staff surfaces, kept until an erasure or the
retention deletes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.secrets import redact
from handlers.staff_ports import StaffPostRef
from storage.models import Client, Conversation, StaffBacklogItem, StaffPost

# A claimed post is left to the replica deleting it for this long; then any may try again.
LEASE = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class LeftOver:
    """Posts about an erased client the bot could not delete: for an administrator to."""

    conversation_id: int
    reason: str  # StaffPosts.failed's code
    count: int


class SqlStaffPosts:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def record(self, conversation_id: int, thread: str, message_id: int,
                     now: datetime) -> None:
        async with self._sessions.begin() as s:
            # Posted while the client was being erased: it goes with the rest.
            erased = await s.scalar(select(Client.erased_at).join(
                Conversation, Conversation.client_id == Client.id)
                .where(Conversation.id == conversation_id))
            s.add(StaffPost(conversation_id=conversation_id, thread=thread[:64],
                            message_id=message_id, posted_at=now,
                            status="posted" if erased is None else "erase",
                            next_attempt_at=None if erased is None else now))

    async def claim_erasable(self, threads: str, now: datetime,
                             limit: int) -> list[StaffPostRef]:
        async with self._sessions.begin() as s:
            query = (select(StaffPost).where(
                StaffPost.status == "erase", StaffPost.next_attempt_at <= now,
                StaffPost.thread.startswith(threads, autoescape=True))
                .order_by(StaffPost.thread, StaffPost.id).limit(limit))
            if s.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(await s.scalars(query))
            for row in rows:
                row.attempts += 1
                row.next_attempt_at = now + LEASE
            return [StaffPostRef(r.id, r.conversation_id, r.thread, r.message_id, r.attempts,
                                 r.last_error) for r in rows]

    async def deleted(self, ids: Sequence[int]) -> None:
        if ids:
            async with self._sessions.begin() as s:
                await s.execute(delete(StaffPost).where(StaffPost.id.in_(ids)))

    async def retry(self, ids: Sequence[int], at: datetime, error: str) -> None:
        await self._set(ids, next_attempt_at=at, last_error=redact(error)[:200])

    async def failed(self, ids: Sequence[int], reason: str) -> None:
        await self._set(ids, status="failed", next_attempt_at=None, last_error=reason[:200])

    async def revive(self, threads: str, reason: str, now: datetime,
                     limit: int | None = None) -> int:
        # The reason stays as the last error: the attempt it gets is known as a retry.
        async with self._sessions.begin() as s:
            ids = list(await s.scalars(select(StaffPost.id).where(
                StaffPost.status == "failed", StaffPost.last_error == reason,
                StaffPost.thread.startswith(threads, autoescape=True))
                .order_by(StaffPost.id).limit(limit)))
            if ids:
                await s.execute(update(StaffPost).where(
                    StaffPost.id.in_(ids), StaffPost.status == "failed")
                    .values(status="erase", next_attempt_at=now, attempts=0))
            return len(ids)

    async def _set(self, ids: Sequence[int], **values: object) -> None:
        if ids:
            async with self._sessions.begin() as s:
                await s.execute(update(StaffPost).where(StaffPost.id.in_(ids)).values(**values))


async def make_due(s: AsyncSession, conversations: Select[int], now: datetime) -> int:
    """What staff surfaces were shown of these conversations becomes due for deletion
    (bots/telegram/cleanup.py), decided in the caller's transaction: a stop right after it
    leaves the deletions due, not forgotten. How many posts (threads too) became due.

    A thread itself (message 0) is named even when it was opened before posts were kept; the
    conversations forget their threads, so that nothing is posted there again, and posts
    still waiting for the surface are never posted."""
    ours = StaffPost.conversation_id.in_(conversations)
    marked = await s.execute(update(StaffPost).where(ours, StaffPost.status == "posted")
                             .values(status="erase", next_attempt_at=now))
    known = {(int(cid), str(thread)) for cid, thread in await s.execute(
        select(StaffPost.conversation_id, StaffPost.thread)
        .where(ours, StaffPost.message_id == 0))}
    threads = [(int(cid), str(thread)) for cid, thread in await s.execute(
        select(Conversation.id, Conversation.staff_thread).where(
            Conversation.id.in_(conversations), Conversation.staff_thread != ""))
        if (cid, thread) not in known]
    s.add_all(StaffPost(conversation_id=cid, thread=thread, message_id=0, status="erase",
                        next_attempt_at=now, posted_at=now) for cid, thread in threads)
    await s.execute(update(Conversation).where(
        Conversation.id.in_(conversations), Conversation.staff_thread != "")
        .values(staff_thread=""))
    await s.execute(delete(StaffBacklogItem).where(
        StaffBacklogItem.conversation_id.in_(conversations)))
    return int(getattr(marked, "rowcount", 0) or 0) + len(threads)


async def left_over(sessions: async_sessionmaker[AsyncSession],
                    institution_id: str) -> list[LeftOver]:
    """Per conversation and reason, the posts an erasure could not delete."""
    async with sessions() as s:
        rows = (await s.execute(
            select(StaffPost.conversation_id, StaffPost.last_error, func.count())
            .join(Conversation, Conversation.id == StaffPost.conversation_id)
            .where(StaffPost.status == "failed", Conversation.institution_id == institution_id)
            .group_by(StaffPost.conversation_id, StaffPost.last_error)
            .order_by(StaffPost.conversation_id))).all()
    return [LeftOver(int(cid), str(reason), int(n)) for cid, reason, n in rows]


async def forget_left_over(sessions: async_sessionmaker[AsyncSession],
                           conversation_id: int) -> None:
    """An administrator deleted them by hand."""
    async with sessions.begin() as s:
        await s.execute(delete(StaffPost).where(
            StaffPost.conversation_id == conversation_id, StaffPost.status == "failed"))
