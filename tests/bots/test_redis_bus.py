"""Events cross replicas through a real Redis (PRIEMNAYA_TEST_REDIS)."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from bots.redis_bus import RedisEventBus, parse_event, to_json
from handlers.ports import ConversationEvent, EventKind
from tests.fakes import FakeNotifier

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
