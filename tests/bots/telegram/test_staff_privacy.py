"""What of a client's data reaches the specialists' Telegram group (152-ФЗ): masked texts and
files left on the web desk by default, everything with telegram.staff_full_texts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from priemnaya.runtime import Runtime
from priemnaya.webapp import build_app
from tests.bots.telegram.conftest import build_service, telegram_plugin
from tests.bots.telegram.fake_bot_api import FakeBotApi
from tests.bots.telegram.harness import Harness, telegram_settings, wait_for
from tests.bots.telegram.test_reliability import open_topic, topic_posts
from tests.bots.telegram.test_vk_clients import USER, Both, both, escalate_vk_client
from tests.bots.vk.fake_vk import as_event, client_message

__all__ = ["both"]  # the VK client's fixture, used here too
Service = tuple[Harness, Runtime]

DESK = "https://priem.example.ru/"
SAID = "Мой СНИЛС 112-233-445 95, паспорт 6512 123456, телефон +7 912 345-67-89"
PHOTO = [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
         {"file_id": "BIG-PHOTO", "file_unique_id": "b", "width": 800, "height": 800}]


async def served(rt: Runtime, api: FakeBotApi) -> AsyncIterator[Harness]:
    h = Harness(api)
    h.settle = telegram_plugin(rt).intake.drain
    async with TestClient(TestServer(build_app(rt))) as http:
        h.http = http
        yield h


@pytest.fixture
async def full(database_url: str, api: FakeBotApi) -> AsyncIterator[Harness]:
    """An institution that decided its staff group may hold clients' full texts."""
    rt = build_service(database_url, telegram_settings(api.url, staff_full_texts=True), DESK)
    async for h in served(rt, api):
        yield h


@pytest.fixture
async def masked(database_url: str, api: FakeBotApi) -> AsyncIterator[Service]:
    rt = build_service(database_url, telegram_settings(api.url), DESK)
    async for h in served(rt, api):
        yield h, rt


def posts_with(h: Harness, text: str) -> list[dict[str, Any]]:
    return [p for p in topic_posts(h) if text in p["text"]]


def group_text(h: Harness) -> str:
    return "\n".join(p["text"] for p in topic_posts(h))


async def test_personal_data_is_masked_in_the_group_with_a_link_to_the_desk(
        masked: Service) -> None:
    h, _ = masked
    await h.post(h.private("Мой телефон 8 912 000-11-22, перезвоните"))
    await open_topic(h)  # the history the topic opens with
    await h.post(h.private(SAID))
    await wait_for(lambda: "[СНИЛС]" in group_text(h))
    text = group_text(h)
    for datum in ("112-233-445 95", "6512", "123456", "345-67-89", "000-11-22", "Петрова"):
        assert datum not in text
    assert "[паспорт]" in text and "[телефон]" in text
    assert "полный текст — в веб-кабинете: https://priem.example.ru/desk/c/1" in text
    assert "вся переписка — в веб-кабинете: https://priem.example.ru/desk/c/1" in text


async def test_a_message_without_personal_data_carries_no_note(masked: Service) -> None:
    h, _ = masked
    await open_topic(h)
    await h.post(h.private("Спасибо, жду ответа"))
    [post] = await wait_for(lambda: [p for p in topic_posts(h) if "жду ответа" in p["text"]])
    assert "веб-кабинете" not in post["text"]


async def test_full_texts_when_the_institution_decided_so(full: Harness) -> None:
    h = full
    await open_topic(h)
    await h.post(h.private(SAID))
    [post] = await wait_for(lambda: [p for p in topic_posts(h) if "СНИЛС" in p["text"]])
    assert SAID in post["text"]
    assert "веб-кабинете" not in post["text"]


async def test_a_clients_files_stay_on_the_desk_by_default(masked: Service) -> None:
    h, _ = masked
    await open_topic(h)
    await h.post(h.private(caption="Вот справка", photo=PHOTO))
    [post] = await wait_for(lambda: [p for p in topic_posts(h) if "Вот справка" in p["text"]])
    assert "[фото]" in post["text"]
    assert "Вложение можно открыть в веб-кабинете: https://priem.example.ru/desk/c/1" in post[
        "text"]
    await h.post(h.private("ещё одно"))  # what came after the photo is through: nothing else
    await wait_for(lambda: [p for p in topic_posts(h) if "ещё одно" in p["text"]])
    assert not h.api.sent("sendPhoto")


async def test_full_texts_show_a_telegram_clients_files_in_the_group(full: Harness) -> None:
    h = full
    await open_topic(h)
    await h.post(h.private(caption="Вот справка", photo=PHOTO))
    voice = {"file_id": "VOICE-1", "file_unique_id": "v", "duration": 3}
    await h.post(h.private(voice=voice))
    await wait_for(lambda: h.api.sent("sendPhoto", photo="BIG-PHOTO"))
    await wait_for(lambda: h.api.sent("sendVoice", voice="VOICE-1"))
    [post] = await wait_for(lambda: [p for p in topic_posts(h) if "Вот справка" in p["text"]])
    assert "веб-кабинете" not in post["text"]


async def test_a_vk_clients_file_address_never_reaches_the_group(both: Both) -> None:
    await escalate_vk_client(both)
    msg = client_message(USER, "вот справка", 3)
    msg["attachments"] = [{"type": "doc", "doc": {
        "id": 1, "owner_id": USER, "title": "справка.pdf", "ext": "pdf", "size": 3000,
        "date": 1760000000, "type": 1, "url": "https://vk.example/doc1_1?hash=secret"}}]
    await both.from_vk(as_event(msg))
    [post] = await wait_for(lambda: [p for p in topic_posts(both.h)
                                      if "вот справка" in p["text"]])
    assert "vk.example" not in post["text"] and "[документ: справка.pdf]" in post["text"]
    assert not both.h.api.sent("sendDocument")


async def test_a_desk_reply_repeating_the_clients_data_is_masked_in_the_group(
        masked: Service) -> None:
    h, rt = masked
    await open_topic(h)
    await rt.desk.reply(1, None, "Записала ваш телефон +7 912 345-67-89", origin="desk")
    [post] = await wait_for(lambda: posts_with(h, "Записала"))
    assert "345-67-89" not in post["text"] and "[телефон]" in post["text"]
    assert "полный текст — в веб-кабинете: https://priem.example.ru/desk/c/1" in post["text"]


async def test_full_texts_history_with_a_photo_hides_nothing(full: Harness) -> None:
    h = full
    await h.post(h.private(caption="Вот справка", photo=PHOTO))
    await h.post(h.button("consent:specialist"))
    [history] = await wait_for(lambda: topic_posts(h))
    assert "Вот справка" in history["text"]
    assert "🔒" not in history["text"]  # the photo is posted in the topic itself
    await wait_for(lambda: h.api.sent("sendPhoto", photo="BIG-PHOTO"))


async def test_the_clients_own_first_name_alone_is_masked_in_the_group(
        masked: Service) -> None:
    """As on the admin pages: «Анна Петрова» writing «Пишет вам Анна» is not named."""
    h, rt = masked
    await h.post(h.private("Пишет вам Анна, вопрос о льготах"))
    await open_topic(h)  # the history
    await h.post(h.private("Это снова Анна, жду ответа"))
    await rt.desk.reply(1, None, "Анна, записала ваш вопрос", origin="desk")
    await wait_for(lambda: posts_with(h, "жду ответа") and posts_with(h, "записала"))
    text = group_text(h)
    assert "Пишет вам [ФИО], вопрос о льготах" in text
    assert "Это снова [ФИО], жду ответа" in text and "[ФИО], записала ваш вопрос" in text
    assert "Анна" not in text


async def test_the_clients_first_name_is_masked_after_a_restart(
        database_url: str, api: FakeBotApi) -> None:
    """The topic was opened by an earlier process: the name is read once, not forgotten."""
    h = Harness(api)
    first = build_service(database_url, telegram_settings(api.url), DESK)
    h.settle = telegram_plugin(first).intake.drain
    async with TestClient(TestServer(build_app(first))) as h.http:
        await open_topic(h)
    again = build_service(database_url, telegram_settings(api.url), DESK)
    h.settle = telegram_plugin(again).intake.drain
    async with TestClient(TestServer(build_app(again))) as h.http:
        await h.post(h.private("Пишет вам Анна, вопрос о льготах"))
        [post] = await wait_for(lambda: posts_with(h, "вопрос о льготах"))
    assert "Пишет вам [ФИО]" in post["text"]


async def test_full_texts_keep_the_clients_first_name(full: Harness) -> None:
    h = full
    await open_topic(h)
    await h.post(h.private("Пишет вам Анна, вопрос о льготах"))
    [post] = await wait_for(lambda: posts_with(h, "вопрос о льготах"))
    assert "Пишет вам Анна, вопрос о льготах" in post["text"]
