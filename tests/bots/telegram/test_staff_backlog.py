"""Posts for the specialists' topic that meet a Telegram outage are kept, in order, through a
restart, and given up on after a bounded time with a note in the topic."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

import bots.telegram.backlog
from priemnaya.runtime import Runtime
from priemnaya.webapp import build_app
from storage.models import Conversation, StaffBacklogItem
from tests.bots.telegram.conftest import build_service, telegram_plugin
from tests.bots.telegram.fake_bot_api import Failure, FakeBotApi
from tests.bots.telegram.harness import STAFF_CHAT, Harness, telegram_settings, wait_for
from tests.bots.telegram.test_reliability import open_topic, topic_posts
from tests.bots.telegram.test_topic_notices import a_desk_account

Service = tuple[Harness, Runtime]


def outage(api: FakeBotApi) -> Failure:
    """Every post into the staff group meets a proxy's 502 until `times` is set to 0."""
    failure = Failure("sendMessage", 502, "", page="<html>502 Bad Gateway</html>",
                      when=lambda p: p.get("chat_id") == str(STAFF_CHAT), times=10**6)
    api.fail(failure)
    return failure


async def kept(rt: Runtime) -> int:
    async with rt.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(StaffBacklogItem)) or 0)


async def until_kept(rt: Runtime, n: int) -> None:
    for _ in range(250):
        if await kept(rt) == n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"backlog has {await kept(rt)} items, not {n}")


async def conversation(rt: Runtime) -> int:
    async with rt.sessions() as s:
        cid = await s.scalar(select(Conversation.id))
    assert cid is not None
    return cid


def texts(h: Harness, topic: int) -> list[str]:
    return [p["text"] for p in topic_posts(h) if int(p["message_thread_id"]) == topic]


async def test_posts_during_an_outage_reach_the_topic_in_order_afterwards(
        service: Service, caplog: pytest.LogCaptureFixture) -> None:
    h, rt = service
    topic = await open_topic(h)
    cid = await conversation(rt)
    failure = outage(h.api)
    for n in (1, 2, 3):
        await rt.desk.reply(cid, None, f"Ответ {n}", origin="desk")
    await until_kept(rt, 3)
    failure.times = 0
    await wait_for(lambda: len([t for t in texts(h, topic) if "Ответ" in t]) == 3, 10)
    shown = [t for t in texts(h, topic) if "Ответ" in t]
    assert [t.rsplit(" ", 1)[1] for t in shown] == ["1", "2", "3"]
    await until_kept(rt, 0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_backlog_survives_a_restart(database_url: str, api: FakeBotApi) -> None:
    h = Harness(api)
    rt = build_service(database_url, telegram_settings(api.url))
    failure = outage(api)
    async with TestClient(TestServer(build_app(rt))) as http:
        h.http = http
        await h.post(h.button("consent:specialist"))  # the topic opens; its history is kept
        await until_kept(rt, 1)
    assert not topic_posts(h)
    failure.times = 0
    again = build_service(database_url, telegram_settings(api.url))
    async with TestClient(TestServer(build_app(again))):
        [history] = await wait_for(lambda: topic_posts(h), 10)
        assert len(api.sent("createForumTopic")) == 1  # the topic opened before the stop
        assert "Клиент" in history["text"]
        await until_kept(again, 0)


async def test_posts_given_up_on_leave_a_note_in_the_topic(
        database_url: str, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(bots.telegram.backlog, "GIVE_UP", timedelta(seconds=0.5))
    h = Harness(api)
    rt = build_service(database_url, telegram_settings(api.url))
    async with TestClient(TestServer(build_app(rt))) as http:
        h.http = http
        topic = await open_topic(h)
        cid = await conversation(rt)
        failure = outage(api)
        for n in (1, 2):
            await rt.desk.reply(cid, None, f"Ответ {n}", origin="desk")
        await wait_for(lambda: [r for r in caplog.records if "gave up" in r.getMessage()], 10)
        failure.times = 0
        [note] = await wait_for(lambda: [t for t in texts(h, topic) if "не удалось" in t], 10)
        assert "2 сообщения" in note and "веб-кабинете" in note
        assert not [t for t in texts(h, topic) if "Ответ" in t]
        await until_kept(rt, 0)
    [gave_up] = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert gave_up.levelname == "WARNING"


async def test_a_topic_that_cannot_be_opened_is_opened_later(service: Service) -> None:
    h, rt = service
    h.api.fail(Failure("createForumTopic", 500, "Internal Server Error"))
    await h.post(h.button("consent:specialist"))
    await wait_for(lambda: topic_posts(h), 10)
    assert [c.ok for c in h.api.attempts("createForumTopic")] == [False, True]
    await until_kept(rt, 0)


async def test_a_topic_cut_off_while_opening_is_opened_by_the_next_process(
        database_url: str, api: FakeBotApi, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bots.telegram.backlog, "OPENING", timedelta(seconds=1), raising=False)
    h = Harness(api)
    hung = api.stall("createForumTopic")
    rt = build_service(database_url, telegram_settings(api.url))
    # The next process looks often; this one not before its call is cut off.
    monkeypatch.setattr(bots.telegram.backlog, "INTERVAL_S", 0.1)
    async with TestClient(TestServer(build_app(rt))) as http:
        h.http = http
        await h.post(h.button("consent:specialist"))
        await wait_for(lambda: api.attempts("createForumTopic"), 10)
        notifier = telegram_plugin(rt)._notifier
        assert notifier is not None
        await notifier.drain(0)  # torn down mid-call, as by kill -9: no answer, nothing noted
    hung.set()  # Telegram made that topic: an orphan nobody can know of
    again = build_service(database_url, telegram_settings(api.url))
    async with TestClient(TestServer(build_app(again))) as http:
        h.http = http
        await h.post(h.private("есть новости?"))
        await wait_for(lambda: [p for p in topic_posts(h) if "есть новости?" in p["text"]], 10)
        await until_kept(again, 0)
    assert len(api.attempts("createForumTopic")) == 2
    topic = int(topic_posts(h)[0]["message_thread_id"])
    assert {int(p["message_thread_id"]) for p in topic_posts(h)} == {topic}
    assert "Клиент" in texts(h, topic)[0]
    assert sum(t.count("есть новости?") for t in texts(h, topic)) == 1


async def test_a_topic_opened_late_shows_each_note_once(service: Service) -> None:
    h, rt = service
    down = [Failure(m, 502, "", page="<html>502 Bad Gateway</html>", times=10**6,
                    when=lambda p: p.get("chat_id") == str(STAFF_CHAT))
            for m in ("createForumTopic", "sendMessage")]
    for failure in down:
        h.api.fail(failure)
    await h.post(h.button("consent:specialist"))
    await until_kept(rt, 1)  # the topic itself
    cid = await conversation(rt)
    anna = await a_desk_account(rt, "anna", "Анна Смирнова")
    assert await rt.desk.take(cid, anna)
    for n in (1, 2, 3):
        await rt.desk.note(cid, anna, f"заметка {n}", origin="desk")
    notifier = telegram_plugin(rt)._notifier
    assert notifier is not None
    await notifier.drain()  # every event handled
    assert await kept(rt) == 2  # the topic, and the take: the history shows the notes
    for failure in down:
        failure.times = 0
    await wait_for(lambda: [t for t in (p["text"] for p in topic_posts(h)) if "взято" in t], 10)
    await until_kept(rt, 0)
    shown = "\n".join(p["text"] for p in topic_posts(h))
    assert [shown.count(f"заметка {n}") for n in (1, 2, 3)] == [1, 1, 1]
    assert shown.count("Обращение взято в работу") == 1
