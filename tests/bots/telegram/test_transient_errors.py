"""A transient database error while a Telegram update is processed: retried, never lost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from priemnaya.runtime import Runtime
from storage.models import InboundEvent, Message
from tests.bots.telegram.conftest import telegram_plugin
from tests.bots.telegram.harness import CLIENT, Harness, wait_for

Service = tuple[Harness, Runtime]
QUESTION = "Как оформить единое пособие?"


class SerializationFailure(Exception):
    sqlstate = "40001"


def failing_store(rt: Runtime, monkeypatch: pytest.MonkeyPatch, times: int) -> None:
    record: Callable[..., Awaitable[Any]] = rt.store.record_incoming
    calls = [0]

    async def failing(*args: Any, **kw: Any) -> Any:
        calls[0] += 1
        if calls[0] <= times:
            raise DBAPIError("INSERT INTO messages ...", {}, SerializationFailure("conflict"))
        return await record(*args, **kw)

    monkeypatch.setattr(rt.store, "record_incoming", failing)


async def kept_events(rt: Runtime) -> list[InboundEvent]:
    await rt.context.inbound.flush()
    async with rt.sessions() as s:
        return list((await s.scalars(select(InboundEvent))).all())


async def client_texts(rt: Runtime) -> list[str]:
    async with rt.sessions() as s:
        return list((await s.scalars(select(Message.text).where(
            Message.author == "client"))).all())


async def test_a_transient_error_is_retried_and_the_message_answered_once(
        service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    h, rt = service
    failing_store(rt, monkeypatch, times=1)
    await h.post(h.private(QUESTION))
    await wait_for(lambda: h.api.sent(chat_id=CLIENT))
    [kept] = await kept_events(rt)
    assert kept.status == "processed"
    assert await client_texts(rt) == [QUESTION]
    assert len(h.api.sent(chat_id=CLIENT)) == 1


async def test_an_update_that_keeps_failing_transiently_stays_replayable(
        service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    h, rt = service
    failing_store(rt, monkeypatch, times=3)
    await h.post(h.private(QUESTION))
    [kept] = await kept_events(rt)
    assert kept.status == "received"  # not "failed": the replay job takes it up again
    assert await client_texts(rt) == []
    await telegram_plugin(rt).replay(kept.raw)
    [kept] = await kept_events(rt)
    assert kept.status == "processed"
    assert await client_texts(rt) == [QUESTION]
    await wait_for(lambda: h.api.sent(chat_id=CLIENT))
