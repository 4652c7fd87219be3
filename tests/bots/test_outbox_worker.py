"""The outbox worker with an in-memory queue: retry-after, backoff, refusals, batching."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime, timedelta

import pytest

from bots.outbox import MAX_ATTEMPTS, OutboxWorker, backoff
from handlers.delivery_ports import Delivery, DeliveryRefused, DeliveryRetry
from handlers.event_ports import EventKind
from handlers.model import Reply
from tests.fakes import Clock, FakeNotifier


class FakeQueue:
    def __init__(self, deliveries: list[Delivery]) -> None:
        self.due = deliveries
        self.sent_batches: list[list[tuple[int, str]]] = []
        self.retries: dict[int, tuple[datetime, str]] = {}
        self.failed: dict[int, tuple[str, bool]] = {}
        self.claims = 0
        self.brought_forward: list[int] = []
        self.released: list[int] = []
        self.firm: set[int] = set()

    async def claim_due(self, now: datetime, limit: int,
                        channels: Collection[str] | None = None) -> list[Delivery]:
        self.claims += 1
        self.channels = channels
        taken, self.due = self.due[:limit], self.due[limit:]
        return taken

    async def mark_sent(self, sent: Sequence[tuple[int, str]], now: datetime) -> None:
        self.sent_batches.append(list(sent))

    async def mark_retry(self, delivery_id: int, at: datetime, error: str,
                         firm: bool = False) -> None:
        self.retries[delivery_id] = (at, error)
        if firm:
            self.firm.add(delivery_id)

    async def release(self, delivery_ids: Sequence[int], now: datetime) -> None:
        self.released.extend(delivery_ids)

    async def conversation_of(self, delivery: Delivery) -> int | None:
        return 100 + delivery.id

    async def due_now(self, channel: str, now: datetime) -> int:
        held = [i for i in self.retries if i not in self.firm]
        self.brought_forward.extend(held)
        return len(held)

    async def mark_failed(self, delivery: Delivery, now: datetime, error: str,
                          client_blocked: bool) -> int | None:
        self.failed[delivery.id] = (error, client_blocked)
        return 100 + delivery.id


class ScriptedSender:
    """Behaves per address: ok, 429 with retry_after 7, blocked, or a crash."""

    async def send(self, address: str, reply: Reply, key: str) -> str:
        if address == "flood":
            raise DeliveryRetry("429 Too Many Requests", retry_after=7)
        if address == "blocked":
            raise DeliveryRefused("403 bot was blocked by the user", client_blocked=True)
        if address == "crash":
            raise RuntimeError("connection reset")
        return f"ext-{key}"


def delivery(i: int, address: str, attempts: int = 1, channel: str = "telegram") -> Delivery:
    return Delivery(i, channel, address, Reply("текст"), attempts, i, f"out-{i}")


async def test_each_outcome_is_recorded_and_successes_in_one_batch() -> None:
    clock, notifier = Clock(), FakeNotifier()
    queue = FakeQueue([delivery(1, "ok"), delivery(2, "flood"), delivery(3, "blocked"),
                       delivery(4, "crash"), delivery(5, "ok"), delivery(6, "x", channel="vk")])
    worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, notifier, clock)
    assert await worker.drain_once() == 6
    assert queue.sent_batches == [[(1, "ext-out-1"), (5, "ext-out-5")]]
    assert queue.retries[2] == (clock.now + timedelta(seconds=7), "429 Too Many Requests")
    assert queue.retries[4][0] == clock.now + timedelta(seconds=2)
    assert "RuntimeError: connection reset" in queue.retries[4][1]
    assert queue.failed[3] == ("403 bot was blocked by the user", True)
    assert queue.failed[6] == ("channel vk is not enabled on this replica, and no replica that "
                               "runs it sent this reply", False)
    # The claim asks for this worker's channels (the outbox gives others only late).
    assert set(queue.channels or ()) == {"telegram"}
    failed_events = [(e.kind, e.conversation_id) for e in notifier.events]
    assert failed_events == [(EventKind.DELIVERY_FAILED, 103), (EventKind.DELIVERY_FAILED, 106)]


async def test_gives_up_visibly_after_the_last_attempt(
        caplog: pytest.LogCaptureFixture) -> None:
    queue = FakeQueue([delivery(9, "flood", attempts=MAX_ATTEMPTS),
                       delivery(10, "flood", attempts=1)])
    notifier = FakeNotifier()
    await OutboxWorker(queue, {"telegram": ScriptedSender()}, notifier, Clock()).drain_once()
    assert queue.failed[9][0].startswith(f"gave up after {MAX_ATTEMPTS} attempts")
    assert notifier.events[0].kind is EventKind.DELIVERY_FAILED
    # A retry is one warning line; the final failure after hours of them is an error.
    outbox = sorted((r.levelname, r.getMessage()[:12], r.exc_info is None)
                    for r in caplog.records if r.name == "bots.outbox")
    assert outbox == [("ERROR", "delivery 9 f", True), ("WARNING", "delivery 10 ", True)]


def test_backoff_grows_and_is_capped() -> None:
    assert [backoff(n, None).total_seconds() for n in (1, 2, 3)] == [2, 4, 8]
    assert backoff(20, None) == timedelta(minutes=30)
    assert backoff(1, 0.0) == timedelta(seconds=0.05)
    assert backoff(1, 120) == timedelta(seconds=120)


async def test_the_worker_stops_when_cancelled_as_it_is_woken() -> None:
    """A wake-up and a stop in the same instant (a reply queued at shutdown) must stop it."""
    clock, notifier = Clock(), FakeNotifier()
    for attempt in range(20):
        worker = OutboxWorker(FakeQueue([]), {}, notifier, clock, poll_interval=0.05)
        task = asyncio.create_task(worker.run())
        await asyncio.sleep(0.005)  # idle, waiting to be woken
        worker.wake()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=1)
        assert task in done, f"the worker ignored cancellation (attempt {attempt})"


async def until(check: Callable[[], bool], what: str) -> None:
    for _ in range(400):
        if check():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


async def running(worker: OutboxWorker, body: Callable[[], Awaitable[None]]) -> None:
    task = asyncio.create_task(worker.run())
    try:
        await body()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_handed_deliveries_go_out_without_a_claim() -> None:
    queue = FakeQueue([delivery(1, "ok")])  # left from before a restart
    worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, FakeNotifier(), Clock(),
                          poll_interval=60)

    async def body() -> None:
        await until(lambda: queue.sent_batches == [[(1, "ext-out-1")]], "the first poll")
        assert queue.claims == 1
        worker.hand([delivery(2, "ok"), delivery(3, "ok")])
        await until(lambda: len(queue.sent_batches) == 2, "the handed deliveries")
        assert queue.sent_batches[1] == [(2, "ext-out-2"), (3, "ext-out-3")]
        assert queue.claims == 1  # sent as handed: no query claimed them
        worker.wake()  # something queued elsewhere: look now, not in a minute
        await until(lambda: queue.claims == 2, "the poll after wake()")

    await running(worker, body)


async def test_a_handed_delivery_that_fails_is_retried_or_refused_like_a_claimed_one() -> None:
    clock, notifier = Clock(), FakeNotifier()
    queue = FakeQueue([])
    worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, notifier, clock,
                          poll_interval=60)

    async def body() -> None:
        await until(lambda: queue.claims == 1, "the first poll")
        worker.hand([delivery(4, "flood"), delivery(5, "blocked"), delivery(6, "ok")])
        await until(lambda: bool(queue.sent_batches), "the pass")
        assert queue.sent_batches == [[(6, "ext-out-6")]]
        assert queue.retries[4] == (clock.now + timedelta(seconds=7), "429 Too Many Requests")
        assert queue.failed[5] == ("403 bot was blocked by the user", True)
        assert [e.kind for e in notifier.events] == [EventKind.DELIVERY_FAILED]

    await running(worker, body)


async def test_more_handed_than_a_batch_go_out_over_several_passes() -> None:
    queue = FakeQueue([])
    worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, FakeNotifier(), Clock(),
                          poll_interval=60, batch=3)

    async def body() -> None:
        await until(lambda: queue.claims == 1, "the first poll")
        worker.hand([delivery(i, "ok") for i in range(1, 8)])
        await until(lambda: sum(map(len, queue.sent_batches)) == 7, "all seven")
        assert [len(b) for b in queue.sent_batches] == [3, 3, 1]
        assert queue.claims == 1

    await running(worker, body)


async def test_at_a_stop_handed_deliveries_not_yet_attempted_are_given_back() -> None:
    queue = FakeQueue([])
    worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, FakeNotifier(), Clock())
    worker.hand([delivery(1, "ok"), delivery(2, "ok")])  # the stop came before a pass
    await worker.release_unsent()
    assert queue.released == [1, 2] and queue.sent_batches == []
    await worker.release_unsent()  # nothing left: nothing given back twice
    assert queue.released == [1, 2]


class OutageSender:
    """The whole platform is down until `up` is set; "flood" is one chat's own limit."""

    def __init__(self) -> None:
        self.up = False

    async def send(self, address: str, reply: Reply, key: str) -> str:
        if address == "flood":
            raise DeliveryRetry("429 Too Many Requests", retry_after=7)
        if not self.up:
            raise DeliveryRetry("ServerError: 502", channel_down=True)
        return f"ext-{key}"


async def test_the_first_send_after_an_outage_brings_the_held_replies_forward() -> None:
    clock, sender, notifier = Clock(), OutageSender(), FakeNotifier()
    queue = FakeQueue([delivery(1, "a"), delivery(2, "flood")])
    worker = OutboxWorker(queue, {"telegram": sender}, notifier, clock)
    await worker.drain_once()  # 1 fails with the platform, 2 with its own flood limit
    assert set(queue.retries) == {1, 2} and queue.brought_forward == []
    held = [(e.kind, e.conversation_id) for e in notifier.events]
    assert held == [(EventKind.DELIVERY_HELD, 101)]  # told once, for the platform's failure
    queue.due = [delivery(3, "b")]
    await worker.drain_once()  # still down: nothing proves it works again
    assert queue.brought_forward == []
    sender.up = True
    queue.due = [delivery(4, "c")]
    await worker.drain_once()  # a send goes through: what was held is due at once
    assert queue.sent_batches[-1] == [(4, "ext-out-4")]
    assert set(queue.brought_forward) == {1, 3}  # 2 keeps its chat's own retry_after
    queue.due = [delivery(5, "d")]
    await worker.drain_once()  # once per outage
    assert len(queue.brought_forward) == 2


async def test_one_chats_limit_is_no_outage() -> None:
    clock = Clock()
    queue = FakeQueue([delivery(1, "flood")])
    worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, FakeNotifier(), clock)
    await worker.drain_once()
    queue.due = [delivery(2, "ok")]
    await worker.drain_once()
    assert queue.brought_forward == []


class OneChatSender:
    """`refuse` and `hold` name the keys that fail; the lower the id the slower the send, so
    that sends made at once would arrive newest first."""

    def __init__(self, refuse: frozenset[str] = frozenset(),
                 hold: frozenset[str] = frozenset(), outage: bool = False) -> None:
        self.refuse, self.hold, self.outage = refuse, hold, outage
        self.arrived: list[str] = []

    async def send(self, address: str, reply: Reply, key: str) -> str:
        await asyncio.sleep(0.03 / int(key.removeprefix("out-")))
        if key in self.refuse:
            raise DeliveryRefused("403 Forbidden: bot was blocked by the user")
        if key in self.hold:
            raise DeliveryRetry("ServerError: 502", None if self.outage else 7, self.outage)
        self.arrived.append(f"{address}:{key}")
        return f"ext-{key}"


async def test_replies_to_one_chat_go_out_one_after_another_oldest_first() -> None:
    sender = OneChatSender()
    queue = FakeQueue([delivery(3, "a"), delivery(1, "a"), delivery(2, "b")])
    worker = OutboxWorker(queue, {"telegram": sender}, FakeNotifier(), Clock())
    worker.hand([delivery(4, "a")])
    await worker.drain_once()
    assert [a for a in sender.arrived if a.startswith("a:")] == ["a:out-1", "a:out-3",
                                                                 "a:out-4"]
    assert sorted(queue.sent_batches[0]) == [(i, f"ext-out-{i}") for i in (1, 2, 3, 4)]


async def test_a_reply_held_for_a_retry_holds_back_the_newer_ones_to_its_chat() -> None:
    clock, notifier = Clock(), FakeNotifier()
    sender = OneChatSender(hold=frozenset({"out-1"}))
    queue = FakeQueue([delivery(1, "a"), delivery(2, "a"), delivery(3, "b")])
    worker = OutboxWorker(queue, {"telegram": sender}, notifier, clock)
    worker.hand([delivery(4, "a")])
    await worker.drain_once()
    # The other chat's goes; this chat's newer ones go back unsent, to wait behind the first.
    assert sender.arrived == ["b:out-3"] and queue.sent_batches == [[(3, "ext-out-3")]]
    assert queue.retries[1] == (clock.now + timedelta(seconds=7), "ServerError: 502")
    assert queue.firm == {1}  # the platform's own retry_after: no outage's end moves it
    assert sorted(queue.released) == [2, 4] and notifier.events == []


async def test_held_by_an_outage_the_newer_replies_are_told_held_too() -> None:
    notifier = FakeNotifier()
    sender = OneChatSender(hold=frozenset({"out-1"}), outage=True)
    queue = FakeQueue([delivery(1, "a"), delivery(2, "a")])
    await OutboxWorker(queue, {"telegram": sender}, notifier, Clock()).drain_once()
    assert queue.released == [2] and queue.firm == set()
    assert [(e.kind, e.message_id) for e in notifier.events] == [
        (EventKind.DELIVERY_HELD, 1), (EventKind.DELIVERY_HELD, 2)]


async def test_a_reply_failed_for_good_holds_back_nothing() -> None:
    notifier = FakeNotifier()
    sender = OneChatSender(refuse=frozenset({"out-1"}))
    queue = FakeQueue([delivery(1, "a"), delivery(2, "a")])
    await OutboxWorker(queue, {"telegram": sender}, notifier, Clock()).drain_once()
    assert sender.arrived == ["a:out-2"] and queue.released == []
    assert [e.kind for e in notifier.events] == [EventKind.DELIVERY_FAILED]


async def test_a_reply_waiting_behind_a_handed_one_is_polled_for_once_that_is_sent() -> None:
    queue = FakeQueue([])
    worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, FakeNotifier(), Clock(),
                          poll_interval=60)

    async def body() -> None:
        await until(lambda: queue.claims == 1, "the first poll")
        # The store wrote reply 2 unleased: reply 1 to the same chat was still pending.
        worker.hand([delivery(1, "ok")], waiting=[("telegram", "ok")])
        queue.due = [delivery(2, "ok")]
        await until(lambda: len(queue.sent_batches) == 2, "the reply that waited")
        assert queue.sent_batches == [[(1, "ext-out-1")], [(2, "ext-out-2")]]
        assert queue.claims == 2

    await running(worker, body)


async def test_a_reply_waiting_behind_one_held_in_the_outbox_waits_for_its_claim() -> None:
    queue = FakeQueue([])
    worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, FakeNotifier(), Clock(),
                          poll_interval=60)

    async def body() -> None:
        await until(lambda: queue.claims == 1, "the first poll")
        worker.hand([], waiting=[("telegram", "ok")])  # not this worker's: a poll looks
        await until(lambda: queue.claims == 2, "the poll")
        worker.hand([delivery(3, "other")])
        await until(lambda: bool(queue.sent_batches), "the handed one")
        assert queue.claims == 2

    await running(worker, body)


async def test_a_reply_waiting_behind_one_handed_over_after_it_is_polled_for_once_sent() -> None:
    queue = FakeQueue([])
    worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, FakeNotifier(), Clock(),
                          poll_interval=60)

    async def body() -> None:
        await until(lambda: queue.claims == 1, "the first poll")
        # The older reply committed first, but the newer one was handed over before it.
        worker.hand([], waiting=[("telegram", "ok")])
        await until(lambda: queue.claims == 2, "the poll")
        queue.due = [delivery(2, "ok")]  # due once the older one is sent
        worker.hand([delivery(1, "ok")])
        await until(lambda: len(queue.sent_batches) == 2, "the reply that waited")
        assert queue.sent_batches == [[(1, "ext-out-1")], [(2, "ext-out-2")]]

    await running(worker, body)


async def test_the_timed_poll_forgets_chats_waiting_behind_another_replicas_reply() -> None:
    queue = FakeQueue([])
    worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, FakeNotifier(), Clock(),
                          poll_interval=0.3)

    async def body() -> None:
        worker.hand([], waiting=[("telegram", "ok")])
        claims = queue.claims
        await until(lambda: queue.claims >= claims + 2, "a timed poll")
        claims = queue.claims
        worker.hand([delivery(1, "ok")])
        await until(lambda: bool(queue.sent_batches), "the handed one")
        await asyncio.sleep(0.05)
        assert queue.claims == claims  # no poll woken for it: nothing waited behind it

    await running(worker, body)


class GatedSender:
    """Each send waits until `go` is set: a platform that answers slowly."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.started: list[str] = []

    async def send(self, address: str, reply: Reply, key: str) -> str:
        self.started.append(key)
        await self.go.wait()
        return f"ext-{key}"


async def test_a_stop_lets_sends_under_way_finish_and_gives_back_the_rest() -> None:
    """SIGTERM mid-send: the reply in flight is recorded sent once, not re-sent after its
    lease; the chat's next reply, not started, is given back due at once."""
    queue, sender = FakeQueue([]), GatedSender()
    worker = OutboxWorker(queue, {"telegram": sender}, FakeNotifier(), Clock(), poll_interval=60)
    task = asyncio.create_task(worker.run())
    await until(lambda: queue.claims == 1, "the first poll")
    worker.hand([delivery(1, "a"), delivery(2, "a"), delivery(3, "b")])
    await until(lambda: len(sender.started) == 2, "the first sends")
    worker.stop()
    sender.go.set()
    await asyncio.wait_for(task, 1)  # run() returns by itself
    await worker.release_unsent()
    assert sender.started == ["out-1", "out-3"]
    assert queue.sent_batches == [[(1, "ext-out-1"), (3, "ext-out-3")]]
    assert queue.released == [2]


async def test_sends_that_went_through_before_a_cut_off_stop_are_recorded() -> None:
    """Past the grace the pass is cancelled: what went through is still recorded as sent,
    what never started is given back, and the send cut off keeps its lease."""
    queue, fast, slow = FakeQueue([]), ScriptedSender(), GatedSender()
    worker = OutboxWorker(queue, {"telegram": fast, "vk": slow}, FakeNotifier(), Clock(),
                          poll_interval=60)
    task = asyncio.create_task(worker.run())
    await until(lambda: queue.claims == 1, "the first poll")
    worker.hand([delivery(1, "a"), delivery(2, "b", channel="vk"),
                 delivery(3, "b", channel="vk")])
    await until(lambda: slow.started == ["out-2"], "the slow send")
    worker.stop()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await worker.release_unsent()
    assert queue.sent_batches == [[(1, "ext-out-1")]]
    assert queue.released == [3]


class DownQueue(FakeQueue):
    """The database away for the first `down` claims; each claim is a second on its clock.
    It stops the worker at claim `stop_at`."""

    def __init__(self, down: int, stop_at: int) -> None:
        super().__init__([])
        self.down, self.stop_at = down, stop_at
        self.worker: OutboxWorker | None = None

    def seconds(self) -> float:
        return float(self.claims)

    async def claim_due(self, now: datetime, limit: int,
                        channels: Collection[str] | None = None) -> list[Delivery]:
        await super().claim_due(now, limit, channels)
        if self.claims == self.stop_at and self.worker is not None:
            self.worker.stop()
        if self.claims <= self.down:
            raise OSError("connection refused\n[SQL: SELECT ...]")
        return []


async def test_a_database_outage_is_logged_in_full_once_then_a_line_a_minute(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "bots.outbox")
    queue = DownQueue(down=150, stop_at=155)
    queue.worker = worker = OutboxWorker(queue, {"telegram": ScriptedSender()}, FakeNotifier(),
                                         Clock(), poll_interval=0, monotonic=queue.seconds)
    async with asyncio.timeout(30):
        await worker.run()
    records = [r for r in caplog.records if r.name == "bots.outbox"]
    assert [(r.levelname, r.getMessage(), r.exc_info is not None) for r in records] == [
        ("ERROR", "outbox pass failed", True),
        ("ERROR", "outbox pass still failing for 60 s (61 failures): "
                  "OSError: connection refused", False),
        ("ERROR", "outbox pass still failing for 120 s (121 failures): "
                  "OSError: connection refused", False),
        ("INFO", "outbox pass works again after 150 s (150 failures)", False),
    ]
