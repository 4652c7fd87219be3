"""Events vkbottle's models reject are read from the raw JSON, each type as its handler needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from storage.models import InboundEvent, Message
from tests.bots.vk.conftest import SECRET, World, until
from tests.bots.vk.fake_vk import message_event, message_reply

USER = 100000001


def press_with_a_number_id() -> dict[str, Any]:
    """VK's event_id of a press is a string; vkbottle's model refuses an integer."""
    body = message_event(USER, {"a": "consent:specialist"}, 3)
    body["object"]["event_id"] = 12345
    return body


def reply_without_version() -> dict[str, Any]:
    """vkbottle's MessageReply model requires the message's version."""
    body = message_reply(USER, "Ответ менеджера из VK", 5, admin=31337)
    del body["object"]["version"]
    return body


async def post(w: World, body: dict[str, Any]) -> None:
    assert await w.post({**body, "secret": SECRET}) == (200, "ok")


async def push(w: World, body: dict[str, Any]) -> None:
    w.fake.push(body)


Deliver = Callable[[World, dict[str, Any]], Awaitable[None]]


async def check_press(w: World, deliver: Deliver) -> None:
    await deliver(w, press_with_a_number_id())
    await w.settled(kept=1)
    assert [e.status for e in await w.rows(InboundEvent)] == ["processed"]
    [answer] = w.fake.method_calls("messages.sendMessageEventAnswer")
    assert answer.params["event_id"] == "12345"
    assert (await w.conversation()).state == "waiting_specialist"


async def check_reply(w: World, deliver: Deliver) -> None:
    await deliver(w, message_event(USER, {"a": "consent:specialist"}, 3))
    await until(lambda: w.fake.delivered)
    await deliver(w, reply_without_version())
    await w.settled(kept=2)
    assert [e.status for e in await w.rows(InboundEvent)] == ["processed", "processed"]
    [recorded] = await w.rows(Message, Message.author == "specialist")
    assert recorded.text == "Ответ менеджера из VK"
    assert (await w.conversation()).state == "with_specialist"


async def test_a_rejected_press_over_callback(callback: World) -> None:
    await check_press(callback, post)


async def test_a_rejected_press_over_long_poll(longpoll: World) -> None:
    await check_press(longpoll, push)


async def test_a_rejected_manager_reply_over_callback(callback: World) -> None:
    await check_reply(callback, post)


async def test_a_rejected_manager_reply_over_long_poll(longpoll: World) -> None:
    await check_reply(longpoll, push)
