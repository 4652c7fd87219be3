"""Replies to one chat written in concurrent transactions still go out in the order written.

PostgreSQL only: on SQLite one writer holds the database from the reply's first insert to its
commit, so a second reply's look for an older pending one always sees the first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bots.outbox import OutboxWorker
from handlers.delivery_ports import DeliveryRetry
from handlers.model import Author, Channel, IncomingMessage, Recorded, Reply
from storage.conversations import SqlConversationStore
from storage.hot_path import Enqueued, HotPath, Outgoing
from storage.models import DEFAULT_INSTITUTION
from storage.outbox import LEASE, SqlDeliveryQueue
from tests.fakes import Clock, FakeNotifier

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
T = TypeVar("T")


@pytest.fixture
def engine(sessions) -> AsyncEngine:
    bound: AsyncEngine = sessions.kw["bind"]
    if bound.dialect.name != "postgresql":
        pytest.skip("concurrent writers: SQLite has one at a time")
    return bound


async def client(sessions, user: str) -> Recorded:
    rec = await SqlConversationStore(sessions).record_incoming(
        IncomingMessage(Channel.VK, user, f"e{user}", "?"), NOW)
    assert rec is not None
    return rec


async def blocked_or_done(engine: AsyncEngine, task: asyncio.Task[T]) -> None:
    """Until the task has finished or its transaction waits for a lock another one holds."""
    for _ in range(500):
        if task.done():
            return
        async with engine.connect() as conn:
            waiting = await conn.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"))
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the second writer neither finished nor waited for a lock")


@asynccontextmanager
async def two_transactions(engine: AsyncEngine) -> AsyncIterator[
        tuple[AsyncConnection, AsyncConnection]]:
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await second.begin()
        yield first, second


async def interleaved(engine: AsyncEngine, rec: Recorded, lease: timedelta | None = LEASE,
                      meanwhile: Callable[[], Awaitable[object]] | None = None,
                      ) -> tuple[Enqueued, Enqueued]:
    """A bot reply and a specialist reply to one chat, each in its own transaction: the
    specialist's is written while the bot's is still uncommitted, and commits first if it
    can. meanwhile: what happens between the two commits."""
    hot = HotPath(DEFAULT_INSTITUTION)

    def write(conn: AsyncConnection, words: str, author: Author) -> Awaitable[Enqueued]:
        return conn.run_sync(hot.enqueue, [Outgoing(rec.conversation, rec.client,
                                                    [Reply(words)], author, NOW)], lease)

    async with two_transactions(engine) as (bot, specialist):
        first = await write(bot, "ответ бота", Author.BOT)
        task = asyncio.create_task(write(specialist, "ответ специалиста", Author.SPECIALIST))
        await blocked_or_done(engine, task)
        await (specialist if task.done() else bot).commit()
        if meanwhile is not None:
            await meanwhile()
        second = await task
        for conn in (bot, specialist):
            if conn.in_transaction():
                await conn.commit()
    return first, second


async def test_a_reply_written_beside_an_uncommitted_one_to_its_chat_is_not_handed_over(
        sessions, engine: AsyncEngine) -> None:
    rec = await client(sessions, "1")
    first, second = await interleaved(engine, rec)
    assert [d.reply.text for d in first.deliveries] == ["ответ бота"]
    # It waits in the outbox behind the bot's reply, which is being sent.
    assert second.deliveries == [] and second.waiting == {("vk", "1")}
    queue = SqlDeliveryQueue(sessions)
    assert await queue.claim_due(NOW, 10) == []
    [sent] = first.deliveries
    await queue.mark_sent([(sent.id, "vk-1")], NOW)
    assert [d.reply.text for d in await queue.claim_due(NOW, 10)] == ["ответ специалиста"]


class Platform:
    """One chat's arrivals, as two replicas' senders deliver them; the first send fails."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self.failed = False

    async def send(self, address: str, reply: Reply, key: str) -> str:
        if not self.failed:
            self.failed = True
            raise DeliveryRetry("ServerError: 502 Bad Gateway")
        self.arrived.append(reply.text)
        return f"ext-{key}"


async def test_two_replicas_keep_one_chats_order_when_the_first_reply_is_held(
        sessions, engine: AsyncEngine) -> None:
    """The bot's reply is written on one replica, the specialist's on another at the same
    moment; the bot's first send meets a 502 and is held for a retry."""
    clock, platform, queue = Clock(NOW), Platform(), SqlDeliveryQueue(sessions)
    replicas = [OutboxWorker(queue, {"vk": platform}, FakeNotifier(), clock)
                for _ in range(2)]
    rec = await client(sessions, "1")
    first, second = await interleaved(engine, rec)
    for worker, done in zip(replicas, (first, second), strict=True):
        worker.hand(done.deliveries, done.waiting)
    for worker in replicas:
        await worker.drain_once()
    assert platform.arrived == []  # the specialist's reply does not overtake the held one
    clock.advance(seconds=2)
    for worker in replicas:
        await worker.drain_once()
    assert platform.arrived == ["ответ бота", "ответ специалиста"]
    clock.advance(seconds=LEASE.total_seconds())
    for worker in replicas:
        await worker.drain_once()
    assert platform.arrived == ["ответ бота", "ответ специалиста"]


async def test_a_poll_between_two_commits_does_not_send_the_later_written_reply_first(
        sessions, engine: AsyncEngine) -> None:
    """Without a hand-over (no worker in the writing process) the order is the outbox ids':
    a poll must never find the later one committed while the earlier one is not yet."""
    queue, claimed = SqlDeliveryQueue(sessions), []

    async def poll() -> None:  # and sent at once
        due = await queue.claim_due(NOW, 10)
        await queue.mark_sent([(d.id, f"vk-{d.id}") for d in due], NOW)
        claimed.extend(d.reply.text for d in due)

    await interleaved(engine, await client(sessions, "1"), lease=None, meanwhile=poll)
    await poll()
    assert claimed == ["ответ бота", "ответ специалиста"]


async def test_batches_to_the_same_chats_in_another_order_wait_and_do_not_deadlock(
        sessions, engine: AsyncEngine) -> None:
    one, two = await client(sessions, "1"), await client(sessions, "2")
    hot = HotPath(DEFAULT_INSTITUTION)

    def batch(conn: AsyncConnection, *recs: Recorded) -> Awaitable[Enqueued]:
        return conn.run_sync(hot.enqueue, [Outgoing(
            r.conversation, r.client, [Reply(r.client.user_id)], Author.BOT, NOW)
            for r in recs], LEASE)

    async with two_transactions(engine) as (first, second):
        earlier = await batch(first, one, two)
        task = asyncio.create_task(batch(second, two, one))
        await blocked_or_done(engine, task)
        assert not task.done()
        await first.commit()
        later = await task
        await second.commit()
    assert [d.reply.text for d in earlier.deliveries] == ["1", "2"]
    assert later.deliveries == [] and later.waiting == {("vk", "1"), ("vk", "2")}


class Arrivals:
    def __init__(self, expected: int) -> None:
        self.arrived: list[str] = []
        self.expected, self.all_in = expected, asyncio.Event()

    async def send(self, address: str, reply: Reply, key: str) -> str:
        self.arrived.append(reply.text)
        if len(self.arrived) == self.expected:
            self.all_in.set()
        return f"ext-{key}"


async def test_a_bot_and_a_specialist_reply_at_one_moment_go_out_in_order_and_at_once(
        sessions) -> None:
    """Both backends, one process: the later-written reply waits behind the other and is
    polled for as soon as that one is sent, not at the next poll a minute on."""
    sender = Arrivals(expected=2)
    worker = OutboxWorker(SqlDeliveryQueue(sessions), {"vk": sender}, FakeNotifier(),
                          Clock(NOW), poll_interval=60)
    store = SqlConversationStore(sessions, worker=worker)
    rec = await client(sessions, "1")
    running = asyncio.create_task(worker.run())
    try:
        [bot], specialist = await asyncio.gather(
            store.enqueue(rec.conversation, rec.client, [Reply("ответ бота")], Author.BOT,
                          NOW),
            store.record_specialist_message(rec.conversation.id, None, "ответ специалиста",
                                            internal=False, now=NOW))
        async with asyncio.timeout(10):  # the poll interval is 60 s
            await sender.all_in.wait()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert specialist is not None
    written = ["ответ бота", "ответ специалиста"] if bot < specialist else [
        "ответ специалиста", "ответ бота"]
    assert sender.arrived == written
