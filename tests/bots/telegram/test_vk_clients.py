"""A VK client's conversation in a Telegram topic: files the specialist posts there are
downloaded from the (fake) Bot API and uploaded to the (fake) VK."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bots.vk.plugin import build_vk
from priemnaya.runtime import Runtime
from priemnaya.webapp import build_app
from storage.models import Message, OutboxItem, Specialist
from tests.bots.telegram.conftest import build_service, telegram_plugin
from tests.bots.telegram.fake_bot_api import Failure, FakeBotApi
from tests.bots.telegram.harness import STAFF_CHAT, Harness, telegram_settings, wait_for
from tests.bots.telegram.test_specialist_files import staff_file, topic_posts
from tests.bots.vk.conftest import SECRET, vk_config
from tests.bots.vk.fake_vk import (
    FakeVk,
    message_event,
    message_new,
    message_reply,
    running_fake_vk,
)

# A token shaped as BotFather's, so that both the pattern and the configured value are tried.
TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"
USER = 100000001


@dataclass
class Both:
    h: Harness
    rt: Runtime
    vk: FakeVk
    http: TestClient

    async def from_vk(self, body: dict[str, Any]) -> None:
        r = await self.http.post("/vk/callback", json={**body, "secret": SECRET})
        assert r.status == 200


@pytest.fixture
async def both(database_url: str, api: FakeBotApi) -> AsyncIterator[Both]:
    async with running_fake_vk() as vk:
        rt = build_service(database_url, telegram_settings(api.url, token=TOKEN))
        rt.add_channel(build_vk(vk_config(vk, "callback"), rt.context))
        harness = Harness(api)
        harness.settle = telegram_plugin(rt).intake.drain
        async with TestClient(TestServer(build_app(rt))) as http:
            harness.http = http
            yield Both(harness, rt, vk, http)


async def escalate_vk_client(w: Both) -> int:
    await w.from_vk(message_new(USER, "Как получить субсидию на ЖКУ?", 1))
    await w.from_vk(message_event(USER, {"a": "consent:specialist"}, 2))
    await wait_for(lambda: topic_posts(w.h))
    return int(topic_posts(w.h)[0]["message_thread_id"])


async def outbox_of(rt: Runtime, text: str) -> OutboxItem | None:
    async with rt.sessions() as s:
        return await s.scalar(select(OutboxItem).join(
            Message, Message.id == OutboxItem.message_id).where(Message.text == text))


async def test_an_expired_file_fails_at_once_and_no_token_is_stored_or_logged(
        both: Both, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    h, rt = both.h, both.rt
    topic = await escalate_vk_client(both)
    h.api.files["GONE"] = b"%PDF-1.4 form"
    h.api.expired.add("GONE")  # getFile answers; the download is a 404
    document = {"file_id": "GONE", "file_unique_id": "uGONE", "file_name": "f.pdf"}
    await h.post(staff_file(h, topic, "Бланк заявления", document=document))

    await wait_for(lambda: "Бланк заявления" in both.vk.texts(USER))
    warning = await wait_for(lambda: [p for p in topic_posts(h)
                                      if "не доставлено" in p["text"]])
    item = await outbox_of(rt, "Бланк заявления")
    assert item is not None
    # A 404 will not heal: failed at the first attempt, not retried for hours.
    assert (item.status, item.attempts) == ("failed", 1)
    assert "404" in item.last_error
    assert "Файл не удалось переслать" in warning[0]["text"]
    assert warning[0]["message_thread_id"] == str(topic)
    assert int(warning[0]["chat_id"]) == STAFF_CHAT
    secret = TOKEN.partition(":")[2]
    for text in (item.last_error, caplog.text, *(p["text"] for p in topic_posts(h))):
        assert secret not in text


async def test_a_vk_community_manager_is_named_in_words(both: Both) -> None:
    await escalate_vk_client(both)
    await both.from_vk(message_reply(USER, "Здравствуйте, это Мария.", 3, admin=100000009))
    for _ in range(250):
        if names := await specialist_names(both.rt):
            break
        await asyncio.sleep(0.02)
    assert names == ["Менеджер сообщества VK (id 100000009)"]  # not its login «vk:100000009»


async def specialist_names(rt: Runtime) -> list[str]:
    async with rt.sessions() as s:
        return list(await s.scalars(select(Specialist.display_name)))


async def test_a_vk_refusal_reads_in_russian_in_the_topic(both: Both) -> None:
    h = both.h
    topic = await escalate_vk_client(both)
    both.vk.refuse[USER] = 901  # the client forbade the community's messages
    await h.post(h.staff("Ваше заявление готово", topic=topic))
    warning = await wait_for(lambda: [p for p in topic_posts(h)
                                      if "не доставлено" in p["text"]])
    assert "запретил сообщения от сообщества ВКонтакте" in warning[0]["text"]
    assert "VK error" not in warning[0]["text"] and "901" not in warning[0]["text"]


async def test_a_reply_held_by_a_vk_outage_is_said_at_once_in_the_topic(both: Both) -> None:
    h = both.h
    topic = await escalate_vk_client(both)
    both.vk.refuse[USER] = 5  # the community's token rejected: every send fails alike
    await h.post(h.staff("Ваше заявление готово", topic=topic))
    held = await wait_for(lambda: [p for p in topic_posts(h) if "⏳" in p["text"]])
    assert "Ответ пока не доставлен: ВКонтакте сейчас не принимает сообщения" in held[0]["text"]
    assert not [p for p in topic_posts(h) if "не доставлено клиенту" in p["text"]]


async def test_flood_control_on_get_file_is_waited_out_not_taken_for_a_lost_file(
        both: Both) -> None:
    h, rt = both.h, both.rt
    topic = await escalate_vk_client(both)
    h.api.files["DOC2"] = b"%PDF-1.4 form"
    h.api.fail(Failure("getFile", 429, "Too Many Requests: retry after 1", retry_after=1))
    document = {"file_id": "DOC2", "file_unique_id": "uDOC2", "file_name": "form.pdf"}
    await h.post(staff_file(h, topic, "Бланк", document=document))
    await wait_for(lambda: both.vk.uploads, seconds=10)
    assert both.vk.uploads == [("form.pdf", b"%PDF-1.4 form")]
    for _ in range(250):
        item = await outbox_of(rt, "Бланк")
        if item is not None and item.status == "sent":
            break
        await asyncio.sleep(0.02)
    assert item is not None and (item.status, item.attempts) == ("sent", 2)
