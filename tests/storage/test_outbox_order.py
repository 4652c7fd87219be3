"""Replies to one chat leave the outbox in the order they were written (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bots.outbox import OutboxWorker
from handlers.delivery_ports import Delivery, DeliveryRetry
from handlers.model import Author, Channel, IncomingMessage, Recorded, Reply
from storage.conversations import SqlConversationStore
from storage.models import OutboxItem
from storage.outbox import LEASE, ORPHAN_AFTER, SqlDeliveryQueue, pending_to
from tests.fakes import Clock, FakeNotifier, RecordingHandoff, with_sqlite_plans

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(seconds=30)  # within the lease of what was handed


async def client(store: SqlConversationStore, user: str) -> Recorded:
    rec = await store.record_incoming(IncomingMessage(Channel.VK, user, f"e{user}", "?"), NOW)
    assert rec is not None
    return rec


async def reply(store: SqlConversationStore, rec: Recorded, *texts: str) -> None:
    await store.enqueue(rec.conversation, rec.client, [Reply(t) for t in texts], Author.BOT,
                        NOW)


def texts(deliveries: list[Delivery]) -> list[str]:
    return [d.reply.text for d in deliveries]


async def test_a_newer_reply_waits_behind_one_held_for_a_retry(sessions) -> None:
    store, queue = SqlConversationStore(sessions), SqlDeliveryQueue(sessions)
    mine, other = await client(store, "1"), await client(store, "2")
    await reply(store, mine, "первый")
    [first] = await queue.claim_due(NOW, 10)
    await queue.mark_retry(first.id, LATER, "429 Too Many Requests", firm=True)
    await reply(store, mine, "второй", "третий")
    await reply(store, other, "другому")
    # Another chat is not held up; this one's newer replies wait for the first.
    assert texts(await queue.claim_due(NOW, 10)) == ["другому"]
    assert await queue.claim_due(LATER - timedelta(seconds=1), 10) == []
    # Due again, the first goes out with the ones behind it, oldest first.
    again = await queue.claim_due(LATER, 10)
    assert texts(again) == ["первый", "второй", "третий"]
    assert [d.attempts for d in again] == [2, 1, 1]


async def test_the_next_replies_go_once_the_older_one_failed_for_good(sessions) -> None:
    store, queue = SqlConversationStore(sessions), SqlDeliveryQueue(sessions)
    mine = await client(store, "1")
    await reply(store, mine, "первый", "второй")
    first, second = await queue.claim_due(NOW, 10)
    # The worker holds the first for a retry and gives the second back unsent.
    await queue.mark_retry(first.id, LATER, "ServerError: 502")
    await queue.release([second.id], NOW)
    assert await queue.claim_due(NOW, 10) == []
    await queue.mark_failed(first, NOW, "gave up after 12 attempts", client_blocked=False)
    [due] = await queue.claim_due(NOW, 10)
    assert (due.reply.text, due.attempts) == ("второй", 1)


async def test_the_end_of_an_outage_leaves_a_platforms_retry_after_and_leases(
        sessions) -> None:
    store, queue = SqlConversationStore(sessions), SqlDeliveryQueue(sessions)
    down, flood, sending = [await client(store, u) for u in ("1", "2", "3")]
    await reply(store, down, "сбой")
    await reply(store, flood, "лимит")
    held, limited = await queue.claim_due(NOW, 10)
    await queue.mark_retry(held.id, LATER, "ServerError: 502")
    await queue.mark_retry(limited.id, NOW + timedelta(seconds=40), "429", firm=True)
    await reply(store, sending, "в пути")
    [leased] = await queue.claim_due(NOW, 10)  # being sent by some worker right now
    assert await queue.due_now("vk", NOW) == 1
    assert texts(await queue.claim_due(NOW, 10)) == ["сбой"]
    assert await queue.claim_due(NOW + timedelta(seconds=39), 10) == []
    assert texts(await queue.claim_due(NOW + timedelta(seconds=40), 10)) == ["лимит"]
    assert leased.reply.text == "в пути"


async def test_a_reply_behind_a_pending_one_is_not_handed_over(sessions) -> None:
    handoff = RecordingHandoff()
    store, queue = SqlConversationStore(sessions, worker=handoff), SqlDeliveryQueue(sessions)
    mine, other = await client(store, "1"), await client(store, "2")
    await reply(store, mine, "первый", "второй")  # one batch: both leased, in order
    assert texts(handoff.handed) == ["первый", "второй"] and handoff.waiting == set()
    first, second = handoff.handed
    await queue.mark_retry(first.id, LATER, "ServerError: 502")
    await queue.release([second.id], NOW)
    await reply(store, mine, "третий")
    await reply(store, other, "другому")
    # Written unleased for a claim behind the first; the other chat's is handed at once.
    assert texts(handoff.handed) == ["первый", "второй", "другому"]
    assert handoff.waiting == {("vk", "1")}
    assert await queue.claim_due(NOW, 10) == []
    assert texts(await queue.claim_due(LATER, 10)) == ["первый", "второй", "третий"]


async def test_the_chats_with_a_pending_reply_are_found_through_their_own_rows(
        sessions) -> None:
    """Not by reading every pending row: an outage may hold thousands, and each write of a
    reply asks (SQLite's plan; the same statement serves PostgreSQL)."""
    store = SqlConversationStore(sessions)
    vk = await client(store, "1")
    tg = await store.record_incoming(IncomingMessage(Channel.TELEGRAM, "1", "t1", "?"), NOW)
    assert tg is not None
    await reply(store, vk, "в вк")
    await reply(store, tg, "в телеграм")
    found, plans = await with_sqlite_plans(sessions, lambda conn: conn.run_sync(
        pending_to, {("vk", "1"), ("telegram", "1"), ("telegram", "2"), ("vk", "3")}), "outbox")
    assert found == {("vk", "1"), ("telegram", "1")}
    assert plans != []  # None: not SQLite
    for plan in plans or []:
        assert [line for line in plan if "outbox" in line] == [
            "SEARCH outbox USING COVERING INDEX ix_outbox_recipient "
            "(channel=? AND address=? AND status=?)"]


async def test_a_claim_does_not_overtake_a_row_another_worker_is_claiming(
        sessions) -> None:
    """PostgreSQL: SKIP LOCKED passes over the row another worker has locked, not its chat."""
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("row locks and SKIP LOCKED: PostgreSQL only")
    store, queue = SqlConversationStore(sessions), SqlDeliveryQueue(sessions)
    mine, other = await client(store, "1"), await client(store, "2")
    await reply(store, mine, "первый", "второй")
    await reply(store, other, "другому")
    async with sessions.begin() as s:
        first_id = await s.scalar(select(OutboxItem.id).order_by(OutboxItem.id).limit(1))
        await s.execute(select(OutboxItem).where(OutboxItem.id == first_id)
                        .with_for_update())
        assert texts(await queue.claim_due(NOW, 10)) == ["другому"]
        await s.execute(update(OutboxItem).where(OutboxItem.id == first_id)
                        .values(next_attempt_at=NOW + LEASE, attempts=1))
    assert await queue.claim_due(NOW, 10) == []


class FloodOnce:
    """A platform that answers the first send to chat 1 with 429, retry after 7 s."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self.flooded = False

    async def send(self, address: str, reply: Reply, key: str) -> str:
        if address == "1" and not self.flooded:
            self.flooded = True
            raise DeliveryRetry("429 Too Many Requests", retry_after=7)
        self.arrived.append(reply.text)
        return f"ext-{key}"


async def test_the_worker_and_the_outbox_keep_a_chats_replies_in_order(sessions) -> None:
    clock, sender = Clock(NOW), FloodOnce()
    queue = SqlDeliveryQueue(sessions)
    worker = OutboxWorker(queue, {"vk": sender}, FakeNotifier(), clock)
    store = SqlConversationStore(sessions, worker=worker)
    mine, other = await client(store, "1"), await client(store, "2")
    await reply(store, mine, "первый")
    await worker.drain_once()  # 429: held for 7 s
    await reply(store, mine, "второй")
    await reply(store, other, "другому")
    await worker.drain_once()
    clock.advance(seconds=6)
    await worker.drain_once()
    assert sender.arrived == ["другому"]
    clock.advance(seconds=1)
    await worker.drain_once()
    assert sender.arrived == ["другому", "первый", "второй"]


async def test_a_replica_claims_its_own_channels_and_others_only_when_orphaned(
        sessions) -> None:
    """A replica without Telegram must not take (and fail) the Telegram replies another
    replica is retrying; a reply no replica has sent for ORPHAN_AFTER is failed visibly."""
    store, queue = SqlConversationStore(sessions), SqlDeliveryQueue(sessions)
    vk = await client(store, "1")
    telegram = await store.record_incoming(
        IncomingMessage(Channel.TELEGRAM, "2", "t2", "?"), NOW)
    assert telegram is not None
    await reply(store, vk, "в вк")
    await reply(store, telegram, "в телеграм")
    [sent] = await queue.claim_due(NOW, 10, channels={"vk"})
    assert sent.reply.text == "в вк"
    await queue.mark_sent([(sent.id, "vk-1")], NOW)
    assert await queue.claim_due(LATER, 10, channels={"vk"}) == []
    late = NOW + ORPHAN_AFTER
    assert texts(await queue.claim_due(late, 10, channels={"vk"})) == ["в телеграм"]
