"""The webhook is answered once an update is kept; processing follows, in order per chat."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bots.telegram.convert import chat_of
from bots.telegram.intake import UpdateIntake


class KeptLog:
    def __init__(self, fail_marks: bool = False) -> None:
        self.kept: list[str] = []
        self.marked: list[tuple[str, str]] = []
        self._fail = fail_marks

    async def keep(self, channel: str, key: str, kind: str, raw: str, now: datetime) -> bool:
        if key in self.kept:
            return False
        self.kept.append(key)
        return True

    async def mark(self, channel: str, key: str, status: str, error: str = "") -> None:
        if self._fail:
            raise ConnectionError("database is gone")
        self.marked.append((key, status))

    async def flush(self) -> None:
        return None


class SlowFirst(UpdateIntake):
    """Routes without aiogram: update 1 takes a while, the others are instant."""

    def __init__(self, inbound: KeptLog, max_in_flight: int = 256) -> None:
        super().__init__(None, None, inbound, None, lambda: datetime.now(UTC),  # type: ignore[arg-type]
                         max_in_flight)
        self.events: list[str] = []

    async def _route(self, raw: Mapping[str, Any]) -> tuple[str, str]:
        n = raw["update_id"]
        self.events.append(f"start {n}")
        await asyncio.sleep(0.05 if n == 1 else 0)
        self.events.append(f"end {n}")
        return "processed", ""


def text(update_id: int, chat: int) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "А"}, "text": "вопрос"}}


async def test_accepted_before_processed_and_in_order_per_chat() -> None:
    inbound = KeptLog()
    intake = SlowFirst(inbound)
    for update in (text(1, 10), text(2, 10), text(3, 20)):
        assert await intake.accept(update, str(update))
    assert inbound.kept == ["1", "2", "3"] and inbound.marked == []
    await intake.drain()
    events = intake.events
    assert events.index("end 1") < events.index("start 2")  # same chat: one after the other
    assert events.index("end 3") < events.index("end 1")  # another chat does not wait
    assert sorted(inbound.marked) == [("1", "processed"), ("2", "processed"),
                                      ("3", "processed")]


async def test_the_answer_waits_while_too_many_updates_are_in_progress() -> None:
    intake = SlowFirst(KeptLog(), max_in_flight=1)
    await intake.accept(text(1, 10), "1")  # slow: still in progress
    second = asyncio.create_task(intake.accept(text(2, 10), "2"))  # queued behind it
    await asyncio.sleep(0.01)
    assert not second.done()  # two in flight, one allowed: the webhook is not answered yet
    assert await second
    assert "end 1" in intake.events
    await intake.drain()


async def test_a_redelivery_is_not_processed_again() -> None:
    inbound = KeptLog()
    intake = SlowFirst(inbound)
    assert await intake.accept(text(5, 10), "a")
    assert not await intake.accept(text(5, 10), "a")
    await intake.drain()
    assert intake.events == ["start 5", "end 5"]


async def test_an_update_that_cannot_be_marked_stays_for_the_replay(caplog) -> None:
    intake = SlowFirst(KeptLog(fail_marks=True))
    assert await intake.accept(text(7, 10), "b")
    await intake.drain()  # the failure is logged, not raised into the webhook or the loop
    assert "could not be finished" in caplog.text


def test_chat_of_each_kind_of_update() -> None:
    assert chat_of(text(1, 42)) == "chat:42"
    pressed = {"update_id": 2, "callback_query": {
        "id": "q", "from": {"id": 42}, "message": {"chat": {"id": 42}}, "data": "x"}}
    assert chat_of(pressed) == "chat:42"
    inline = {"update_id": 3, "inline_query": {"id": "i", "from": {"id": 7}, "query": ""}}
    assert chat_of(inline) == "user:7"
    assert chat_of({"update_id": 4, "poll": {"id": "p"}}) == ""
    assert chat_of({"update_id": 5, "message": "not an object"}) == ""
