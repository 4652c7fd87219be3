"""An erasure of a client's data (152-ФЗ) deletes what the bot posted about them in the
specialists' group: the topic in a forum, each message in a plain group; failures are retried
or left for an administrator, who is told."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from analytics.retention import purge_raw_texts
from bots.telegram.cleanup import StaffCleanup
from priemnaya.runtime import Runtime, utc_now
from priemnaya.webapp import build_app
from storage.models import Conversation, StaffPost
from storage.staff_posts import SqlStaffPosts
from tests.bots.staff import add_staff, log_in, page_csrf
from tests.bots.telegram.conftest import build_service, telegram_plugin
from tests.bots.telegram.fake_bot_api import Failure, FakeBotApi
from tests.bots.telegram.harness import CLIENT, STAFF_CHAT, Harness, telegram_settings, wait_for
from tests.bots.telegram.test_reliability import open_topic, topic_posts

Service = tuple[Harness, Runtime]


async def forget(h: Harness) -> None:
    """The client's own erasure: «/forget», then the confirmation button."""
    await h.post(h.private("/forget"))
    await wait_for(lambda: [m for m in h.api.sent(chat_id=CLIENT)
                            if "forget_confirm" in json.dumps(m.get("reply_markup"))])
    await h.post(h.button("forget_confirm"))


async def posts_of(rt: Runtime) -> list[StaffPost]:
    async with rt.sessions() as s:
        return list(await s.scalars(select(StaffPost).order_by(StaffPost.id)))


async def settled(rt: Runtime) -> list[StaffPost]:
    """What is left once every post about the erased client is deleted or given up on."""
    return await eventually(rt, lambda posts: all(p.status == "failed" for p in posts))


async def eventually(rt: Runtime, check: Callable[[list[StaffPost]], bool]) -> list[StaffPost]:
    for _ in range(250):
        posts = await posts_of(rt)
        if check(posts):
            return posts
        await asyncio.sleep(0.02)
    raise AssertionError(f"posts not as expected: {[(p.message_id, p.status) for p in posts]}")


async def test_the_clients_erasure_deletes_the_forum_topic(service: Service) -> None:
    h, rt = service
    await h.post(h.private("Мой телефон +7 912 345-67-89"))
    topic = await open_topic(h)
    await h.post(h.private("ещё вопрос"))
    ours = await wait_for(lambda: len(in_topic(h, topic)) >= 2 and in_topic(h, topic))
    # Every post kept by id, and the topic itself as message 0.
    await eventually(rt, lambda posts: {p.message_id for p in posts} == {0, *ours})
    await forget(h)
    [deleted] = await wait_for(lambda: h.api.sent("deleteForumTopic"))
    assert (deleted["chat_id"], deleted["message_thread_id"]) == (str(STAFF_CHAT), str(topic))
    assert await wait_for(lambda: not [m for m, (c, _) in h.api.posted.items()
                                       if c == STAFF_CHAT])
    assert await settled(rt) == []
    async with rt.sessions() as s:
        conv = await s.scalar(select(Conversation))
    assert conv is not None and conv.staff_thread == "" and conv.state == "closed"


async def test_an_administrators_erasure_deletes_the_forum_topic(service: Service) -> None:
    h, rt = service
    topic = await open_topic(h)
    await add_staff(rt, rt.clock)
    assert h.http is not None
    await log_in(h.http, "boss")
    url = "/admin/conversations/1"
    token = await page_csrf(h.http, url)
    r = await h.http.post(f"{url}/erase", data={"csrf_token": token, "confirm": "yes"},
                          allow_redirects=False)
    assert r.status == 303
    [deleted] = await wait_for(lambda: h.api.sent("deleteForumTopic"))
    assert deleted["message_thread_id"] == str(topic)


@pytest.fixture
async def plain(database_url: str) -> AsyncIterator[Service]:
    """A group without topics: conversations are tagged messages."""
    api = FakeBotApi(forum=False)
    await api.start()
    rt = build_service(database_url, telegram_settings(api.url))
    h = Harness(api)
    h.settle = telegram_plugin(rt).intake.drain
    async with TestClient(TestServer(build_app(rt))) as http:
        h.http = http
        yield h, rt
    await api.stop()


def in_topic(h: Harness, topic: int) -> list[int]:
    return [m for m, (_, t) in h.api.posted.items() if t == topic]


def in_group(h: Harness) -> list[int]:
    return [m for m, (chat, _) in h.api.posted.items() if chat == STAFF_CHAT]


async def test_in_a_plain_group_each_message_is_deleted(plain: Service) -> None:
    h, rt = plain
    await h.post(h.private("Мой СНИЛС 112-233-445 95"))
    await h.post(h.button("consent:specialist"))
    await wait_for(lambda: in_group(h))
    await h.post(h.private("ещё вопрос"))
    posted = await wait_for(lambda: len(in_group(h)) >= 2 and in_group(h))
    await forget(h)
    await wait_for(lambda: not in_group(h))
    deleted = {int(p["message_id"]) for p in h.api.sent("deleteMessage")}
    assert set(posted) <= deleted
    assert not h.api.attempts("deleteForumTopic")
    assert await settled(rt) == []


async def test_without_the_right_to_delete_a_topic_the_bot_deletes_its_own_messages_and_tells(
        service: Service, caplog: pytest.LogCaptureFixture) -> None:
    h, rt = service
    topic = await open_topic(h)
    h.api.fail(Failure("deleteForumTopic", 400, "Bad Request: not enough rights to delete "
                       "the topic"))
    ours = in_topic(h, topic)
    await forget(h)
    await wait_for(lambda: h.api.attempts("deleteForumTopic"))
    await wait_for(lambda: {int(p["message_id"]) for p in h.api.sent("deleteMessage")}
                   >= set(ours))
    [left] = await settled(rt)
    assert (left.message_id, left.status, left.last_error) == (
        0, "failed", "no_right:can_delete_messages")
    warning = [r for r in caplog.records if r.levelno == logging.WARNING
               and "can_delete_messages" in r.getMessage()]
    assert warning and str(topic) in warning[0].getMessage()
    await add_staff(rt, rt.clock)
    assert h.http is not None
    await log_in(h.http, "boss")
    page = await (await h.http.get("/admin/")).text()
    assert "Удаление сообщений" in page and "/admin/conversations/1" in page
    token = await page_csrf(h.http, "/admin/")
    r = await h.http.post("/admin/conversations/1/staff-posts-deleted",
                          data={"csrf_token": token}, allow_redirects=False)
    assert r.status == 303
    assert await posts_of(rt) == []
    assert "staff-left-over" not in await (await h.http.get("/admin/")).text()


async def test_a_message_telegram_refuses_to_delete_is_left_for_an_administrator(
        plain: Service) -> None:
    h, rt = plain
    await h.post(h.button("consent:specialist"))
    [first, *_] = await wait_for(lambda: in_group(h))
    h.api.fail(Failure("deleteMessage", 400, "Bad Request: message can't be deleted",
                       when=lambda p: p.get("message_id") == str(first)))
    await forget(h)
    posts = await settled(rt)
    assert [(p.message_id, p.status, p.last_error) for p in posts] == [
        (first, "failed", "cannot_delete")]
    # Over 48 hours old: no right makes it deletable, and it is not tried again.
    tried = len(h.api.attempts("deleteMessage"))
    await cleanup(rt, utc_now).retry_refused()
    assert len(h.api.attempts("deleteMessage")) == tried
    assert [p.status for p in await posts_of(rt)] == ["failed"]


def cleanup(rt: Runtime, clock: Callable[[], datetime]) -> StaffCleanup:
    """Another StaffCleanup of the same group, as after a restart or in another replica."""
    return StaffCleanup(telegram_plugin(rt).bot, STAFF_CHAT, SqlStaffPosts(rt.sessions), clock)


async def banner(h: Harness) -> str:
    assert h.http is not None
    return await (await h.http.get("/admin/")).text()


async def test_once_the_right_is_granted_the_topic_left_over_is_deleted_at_start_up(
        service: Service) -> None:
    h, rt = service
    topic = await open_topic(h)
    h.api.fail(Failure("deleteForumTopic", 400, "Bad Request: not enough rights to delete "
                       "the topic"))  # once: then an administrator grants the right
    await forget(h)
    [left] = await settled(rt)
    assert (left.message_id, left.last_error) == (0, "no_right:can_delete_messages")
    await add_staff(rt, rt.clock)
    assert h.http is not None
    await log_in(h.http, "boss")
    assert "staff-left-over" in await banner(h)
    job = asyncio.create_task(cleanup(rt, utc_now).run())  # a restart: it tries at once
    try:
        await eventually(rt, lambda posts: posts == [])
    finally:
        job.cancel()
    assert [p["message_thread_id"] for p in h.api.sent("deleteForumTopic")] == [str(topic)]
    assert "staff-left-over" not in await banner(h)


async def test_the_right_is_probed_with_one_post_until_it_is_granted(
        plain: Service, caplog: pytest.LogCaptureFixture) -> None:
    h, rt = plain
    await h.post(h.button("consent:specialist"))
    await wait_for(lambda: in_group(h))  # the history first: it would show the next message
    await h.post(h.private("ещё вопрос"))
    posted = await wait_for(lambda: len(in_group(h)) >= 2 and in_group(h))
    h.api.fail(Failure("deleteMessage", 400, "Bad Request: not enough rights to delete the "
                       "message", times=1000))
    await forget(h)
    await eventually(rt, lambda posts: len(posts) >= 2
                     and all(p.last_error == "no_right:can_delete_messages" for p in posts))
    warned = len([r for r in caplog.records if r.levelno == logging.WARNING])
    tried = len(h.api.attempts("deleteMessage"))
    later = utc_now() + timedelta(minutes=16)
    await cleanup(rt, lambda: later).retry_refused()
    # Still without the right: one call for the group, not one per post, and no new warning.
    assert len(h.api.attempts("deleteMessage")) == tried + 1
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == warned
    assert {p.status for p in await posts_of(rt)} == {"failed"}
    h.api.failures.clear()  # the administrator grants «Удаление сообщений»
    retry = cleanup(rt, lambda: later)
    await retry.retry_refused()
    await retry.sweep()
    assert await posts_of(rt) == []
    assert not set(posted) & set(in_group(h))
    await add_staff(rt, rt.clock)
    assert h.http is not None
    await log_in(h.http, "boss")
    assert "staff-left-over" not in await banner(h)


@pytest.mark.parametrize("failure", [
    Failure("deleteForumTopic", 502, "", page="<html>502 Bad Gateway</html>"),
    Failure("deleteForumTopic", 429, "Too Many Requests: retry after 30", retry_after=30),
])
async def test_a_deletion_that_meets_a_5xx_or_429_is_retried_later(
        service: Service, failure: Failure) -> None:
    h, rt = service
    topic = await open_topic(h)
    h.api.fail(replace(failure))  # its own count: the same object serves every database
    await forget(h)
    await wait_for(lambda: h.api.attempts("deleteForumTopic"))
    posts = await eventually(rt, lambda posts: bool(posts) and all(p.last_error for p in posts))
    due = min(p.next_attempt_at for p in posts if p.next_attempt_at is not None)
    assert due > utc_now()  # not dropped, not hammered either
    later = StaffCleanup(telegram_plugin(rt).bot, STAFF_CHAT, SqlStaffPosts(rt.sessions),
                         lambda: utc_now() + timedelta(minutes=31))
    await later.sweep()
    assert [p["message_thread_id"] for p in h.api.sent("deleteForumTopic")] == [str(topic)]
    assert await posts_of(rt) == []



async def test_the_retention_deletes_a_closed_conversations_topic(service: Service) -> None:
    """Once the retention blanks a closed conversation's texts, the group loses them too."""
    h, rt = service
    topic = await open_topic(h)
    await h.post(h.staff("/close", topic))
    await wait_for(lambda: [p for p in topic_posts(h) if "Обращение закрыто" in p["text"]])
    await eventually(rt, lambda posts: len(posts) == 1 + len(in_topic(h, topic)))  # all kept
    later = utc_now() + timedelta(days=31)
    purged = await purge_raw_texts(rt.sessions, later, days=30)
    assert purged.messages and purged.staff_posts >= 2  # the topic and its posts
    await StaffCleanup(telegram_plugin(rt).bot, STAFF_CHAT, SqlStaffPosts(rt.sessions),
                       lambda: later).sweep()
    assert [p["message_thread_id"] for p in h.api.sent("deleteForumTopic")] == [str(topic)]
    assert await posts_of(rt) == []
