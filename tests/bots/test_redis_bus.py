"""Events cross replicas through a real Redis (PRIEMNAYA_TEST_REDIS)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import uuid

import pytest
from redis.asyncio.connection import parse_url

from bots.redis_bus import RedisEventBus, backoff, event_channel, parse_event, to_json
from handlers.event_ports import ConversationEvent, EventKind
from tests.bots.vk.conftest import until
from tests.fakes import FakeNotifier, FakeRedisServer

REDIS_URL = os.environ.get("PRIEMNAYA_TEST_REDIS", "")


def test_event_round_trips_through_json() -> None:
    event = ConversationEvent(EventKind.SPECIALIST_MESSAGE, 7, 12, "Ответ «да»", "desk")
    assert parse_event(to_json(event, "r1")) == ("r1", event)
    assert parse_event("{not json") is None
    assert parse_event('{"replica": "r", "kind": "nope", "conversation_id": 1}') is None


@pytest.mark.skipif(not REDIS_URL, reason="needs PRIEMNAYA_TEST_REDIS=redis://HOST:PORT/DB")
async def test_other_replica_receives_and_sender_does_not_echo() -> None:
    channel = f"test:{uuid.uuid4().hex}"
    seen_a, seen_b = FakeNotifier(), FakeNotifier()
    a = RedisEventBus(REDIS_URL, seen_a, channel)
    b = RedisEventBus(REDIS_URL, seen_b, channel)
    tasks = [asyncio.create_task(a.run()), asyncio.create_task(b.run())]
    try:
        event = ConversationEvent(EventKind.ESCALATED, 42, 1)
        for _ in range(100):  # until both subscriptions are live
            await a.publish(event)
            await asyncio.sleep(0.02)
            if seen_b.events:
                break
        assert seen_b.events and seen_b.events[0] == event
        assert seen_a.events == []
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await a.close()
        await b.close()


async def stop(task: asyncio.Task[None]) -> None:
    """A stop must not wait on Redis: the task ends within a second of its cancellation."""
    task.cancel()
    async with asyncio.timeout(1):
        await asyncio.gather(task, return_exceptions=True)


async def test_publishing_never_waits_for_a_redis_that_does_not_answer() -> None:
    async with FakeRedisServer("silent") as silent:
        bus = RedisEventBus(silent.url, FakeNotifier(), "test:silent", timeout_s=0.3)
        task = asyncio.create_task(bus.run())
        await asyncio.sleep(0.1)  # the listener is waiting for its SUBSCRIBE's answer
        async with asyncio.timeout(0.05):
            for n in range(20):
                await bus.publish(ConversationEvent(EventKind.CRISIS, n))
        await asyncio.sleep(0.5)
        assert silent.accepted >= 2 and not bus.connected
        await stop(task)
        async with asyncio.timeout(1):
            await bus.close()


def test_backoff_doubles_up_to_its_cap() -> None:
    assert list(itertools.islice(backoff(1, 60), 8)) == [1, 2, 4, 8, 16, 32, 60, 60]


async def test_a_lost_connection_is_retried_with_backoff_and_logged_once(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "bots.redis_bus")
    async with FakeRedisServer("refuse") as refusing:
        bus = RedisEventBus(refusing.url, FakeNotifier(), "test:refuse", timeout_s=0.3,
                            backoff_s=(0.02, 0.16))
        task = asyncio.create_task(bus.run())
        await asyncio.sleep(0.7)  # 0.02 + 0.04 + 0.08 + 0.16 + 0.16 + 0.16: about 6 tries
        await stop(task)
        await bus.close()
    assert 4 <= refusing.accepted <= 8
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"127.0.0.1:{refusing.port}/0" in warnings[0].getMessage()
    assert "Error" in warnings[0].getMessage()  # the reason
    assert "secret-pw" not in caplog.text


def test_the_channel_names_the_institution_and_the_database() -> None:
    names = {event_channel(url, institution)
             for url in ("redis://h:6379/0", "redis://h:6379/3", "redis://h:6379")
             for institution in ("sfr", "care_home")}
    assert len(names) == 4  # /0 and no number are the same database
    assert event_channel("redis://h/3", "sfr") == "priemnaya:sfr:db3:events"


def test_malformed_payloads_are_not_events() -> None:
    for raw in ("null", "[1, 2]", '"kind"', "{}", '{"replica": "r", "kind": "closed"}',
                '{"replica": "r", "kind": "closed", "conversation_id": 1, "message_id": "x"}',
                b"\xff\xfe"):
        assert parse_event(raw) is None, raw


needs_redis = pytest.mark.skipif(not REDIS_URL,
                                 reason="needs PRIEMNAYA_TEST_REDIS=redis://HOST:PORT/DB")


@needs_redis
async def test_institutions_on_one_redis_do_not_see_each_others_events() -> None:
    from redis.asyncio import Redis

    suffix = uuid.uuid4().hex
    seen = {name: FakeNotifier() for name in ("a1", "a2", "b")}
    buses = {name: RedisEventBus(REDIS_URL, seen[name], event_channel(
        REDIS_URL, f"{name[0]}-{suffix}")) for name in seen}
    tasks = [asyncio.create_task(bus.run()) for bus in buses.values()]
    raw = Redis.from_url(REDIS_URL)
    try:
        await until(lambda: all(bus.connected for bus in buses.values()))
        channel = event_channel(REDIS_URL, f"a-{suffix}")
        for junk in ("{not json", "[]", '{"kind": "closed"}'):  # the listener carries on
            await raw.publish(channel, junk)
        await buses["a1"].publish(ConversationEvent(EventKind.ESCALATED, 42, 1))
        await until(lambda: bool(seen["a2"].events))
        await asyncio.sleep(0.1)
        assert seen["a2"].events == [ConversationEvent(EventKind.ESCALATED, 42, 1)]
        assert seen["a1"].events == seen["b"].events == []
    finally:
        for task in tasks:
            await stop(task)
        for bus in buses.values():
            await bus.close()
        await raw.aclose()


@needs_redis
async def test_the_bus_finds_redis_again_and_says_so_once(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "bots.redis_bus")
    target = (parse_url(REDIS_URL).get("host", "localhost"),
              parse_url(REDIS_URL).get("port", 6379))
    async with FakeRedisServer("forward", target) as proxy:
        bus = RedisEventBus(proxy.url.replace(":secret-pw@", "@"), FakeNotifier(),
                            "test:again", timeout_s=0.3, backoff_s=(0.02, 0.1))
        task = asyncio.create_task(bus.run())
        await until(lambda: bus.connected)
        proxy.mode = "refuse"
        proxy.drop_all()
        await until(lambda: not bus.connected)
        await asyncio.sleep(0.3)
        proxy.mode = "forward"
        await until(lambda: bus.connected)
        await stop(task)
        await bus.close()
    levels = [(r.levelname, r.getMessage()[:30]) for r in caplog.records]
    assert [level for level, _ in levels] == ["WARNING", "INFO"], levels
