"""A transient database error while a VK event is processed: retried, never lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy.exc import DBAPIError

from storage.models import InboundEvent
from tests.bots.vk.conftest import SECRET, World, until
from tests.bots.vk.fake_vk import message_new

USER = 100000001
QUESTION = "Как оформить единое пособие?"


class Deadlock(Exception):
    sqlstate = "40P01"


def failing_store(world: World, monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """The store's first `times` writes of an incoming message meet a deadlock."""
    store, calls = world.rt.store, [0]
    record: Callable[..., Awaitable[Any]] = store.record_incoming

    async def deadlocked(*args: Any, **kw: Any) -> Any:
        calls[0] += 1
        if calls[0] <= times:
            raise DBAPIError("INSERT INTO messages ...", {}, Deadlock("deadlock detected"))
        return await record(*args, **kw)

    monkeypatch.setattr(store, "record_incoming", deadlocked)
    return calls


async def test_a_deadlock_is_retried_and_the_message_answered_once(
        callback: World, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = failing_store(callback, monkeypatch, times=1)
    assert await callback.post(message_new(USER, QUESTION, 1, secret=SECRET)) == (200, "ok")
    await callback.settled(kept=1)
    assert calls[0] == 2
    assert [m.text for m in await callback.client_messages()] == [QUESTION]
    assert len(callback.fake.method_calls("messages.send")) == 1
    [kept] = await callback.rows(InboundEvent)
    assert kept.status == "processed"


async def test_an_event_that_still_meets_deadlocks_stays_replayable(
        callback: World, monkeypatch: pytest.MonkeyPatch) -> None:
    failing_store(callback, monkeypatch, times=3)
    assert await callback.post(message_new(USER, QUESTION, 1, secret=SECRET)) == (200, "ok")

    async def marked() -> bool:
        await callback.rt.context.inbound.flush()
        return any(e.error for e in await callback.rows(InboundEvent))

    await until(marked)
    [kept] = await callback.rows(InboundEvent)
    assert kept.status == "received"  # not "failed": the replay job takes it up again
    assert "deadlock" in kept.error
    assert await callback.client_messages() == []
    await callback.plugin.replay(kept.raw)  # the database works again
    await callback.settled(kept=1)
    assert [m.text for m in await callback.client_messages()] == [QUESTION]
    assert len(callback.fake.method_calls("messages.send")) == 1
