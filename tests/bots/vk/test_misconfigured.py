"""A revoked or regenerated community token: replies are held and retried, not failed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from handlers.event_ports import EventKind
from priemnaya.runtime import utc_now
from storage.models import Message, OutboxItem
from tests.bots.vk.conftest import SECRET, World, started, until
from tests.bots.vk.fake_vk import FakeVk, message_new

USER = 100000001
QUESTION = "Как оформить единое пособие?"


class MovableClock:
    """The real time, moved on by the test so that a retry falls due at once."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utc_now() + self.offset


@pytest.mark.parametrize("code", [5, 27])
async def test_a_rejected_token_holds_the_reply_until_vk_accepts_it(
        database_url: str, fake: FakeVk, caplog: pytest.LogCaptureFixture, code: int) -> None:
    clock = MovableClock()
    fake.send_errors = [code, code, code]
    async with started(database_url, fake, "callback", clock=clock) as w:
        with caplog.at_level(logging.WARNING):
            assert await w.post(message_new(USER, QUESTION, 1, secret=SECRET)) == (200, "ok")
            for tries in (1, 2, 3):
                await until(lambda t=tries: len(fake.method_calls("messages.send")) == t)
                row = await retried(w, tries)
                assert row.status == "pending" and f"VK error {code}" in row.last_error
                clock.offset += timedelta(hours=1)  # the backoff has run out
                w.rt.worker.wake()
            await until(lambda: fake.delivered)
            await w.settled()
        [row] = await w.rows(OutboxItem)
        assert (row.status, row.attempts) == ("sent", 4)
        [reply] = await w.rows(Message, Message.author == "bot")
        assert reply.delivery == "sent"
        assert fake.texts(USER)[0].startswith("Единое пособие оформляют")
        assert EventKind.DELIVERY_FAILED not in {e.kind for e in w.notified.events}
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"VK rejected the community token (error {code}"
                      + (", group authorization failed" if code == 27 else "")
                      + "): replies are held and retried; set vk.token "
                      "(PRIEMNAYA_VK__TOKEN) to a valid community key"]


async def retried(w: World, attempts: int) -> OutboxItem:
    """The outbox row once its attempt number `attempts` has been recorded as a retry."""
    async def recorded() -> bool:
        [row] = await w.rows(OutboxItem)
        return row.attempts == attempts and bool(row.last_error)

    await until(recorded)
    [row] = await w.rows(OutboxItem)
    return row
