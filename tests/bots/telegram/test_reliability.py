"""Flood control, blocked clients, deleted topics and web-chat clients seen from Telegram."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from handlers.event_ports import ConversationEvent, EventKind
from priemnaya.runtime import Runtime
from priemnaya.webapp import build_app
from storage.models import Client, Conversation, Message, OutboxItem
from tests.bots.telegram.conftest import build_service
from tests.bots.telegram.fake_bot_api import Failure, FakeBotApi
from tests.bots.telegram.harness import (
    CLIENT,
    STAFF_CHAT,
    Harness,
    telegram_settings,
    wait_for,
)

Service = tuple[Harness, Runtime]


def topic_posts(h: Harness) -> list[dict[str, Any]]:
    return [p for p in h.api.sent(chat_id=STAFF_CHAT) if p.get("message_thread_id")]


async def open_topic(h: Harness) -> int:
    await h.post(h.button("consent:specialist"))
    posts = await wait_for(lambda: topic_posts(h))
    await wait_for(lambda: h.api.sent(chat_id=CLIENT))  # "your question was passed on"
    return int(posts[0]["message_thread_id"])


async def outbox_item_when(rt: Runtime, status: str) -> OutboxItem:
    """The outbox marks a delivery just after the HTTP call returns: wait for it, bounded."""
    for _ in range(250):
        async with rt.sessions() as s:
            item = await s.scalar(select(OutboxItem).order_by(OutboxItem.id.desc()))
        if item is not None and item.status == status:
            return item
        await asyncio.sleep(0.02)
    raise AssertionError(f"no outbox item became {status}")


async def test_flood_control_is_retried_by_the_outbox(service: Service) -> None:
    h, rt = service
    h.api.fail(Failure("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1,
                       when=lambda p: p.get("chat_id") == str(CLIENT)))
    await h.post(h.private("Как оформить единое пособие?"))
    sent = await wait_for(lambda: h.api.sent(chat_id=CLIENT), seconds=10)
    attempts = h.api.attempts(chat_id=CLIENT)
    assert [c.ok for c in attempts] == [False, True]  # refused once with 429, then delivered
    assert sent[0]["text"].startswith("Единое пособие")
    item = await outbox_item_when(rt, "sent")
    assert item.attempts == 2
    assert "flood control" in item.last_error


@pytest.mark.parametrize("status", [502, 429])
async def test_a_proxys_error_page_is_retried_with_one_warning_line(
        service: Service, status: int, caplog: pytest.LogCaptureFixture) -> None:
    h, rt = service
    page = f"<html><head><title>{status}</title></head><body>nginx</body></html>"
    h.api.fail(Failure("sendMessage", status, "", page=page,
                       when=lambda p: p.get("chat_id") == str(CLIENT)))
    await h.post(h.private("Как оформить единое пособие?"))
    await wait_for(lambda: h.api.sent(chat_id=CLIENT), seconds=10)
    item = await outbox_item_when(rt, "sent")
    assert item.attempts == 2
    assert f"HTTP {status}" in item.last_error
    retried = [r for r in caplog.records if r.name == "bots.outbox"]
    assert [(r.levelname, r.exc_info) for r in retried] == [("WARNING", None)]
    assert f"HTTP {status}" in retried[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_blocked_client_fails_once_and_warns_the_topic(service: Service) -> None:
    h, rt = service
    topic = await open_topic(h)
    h.api.fail(Failure("sendMessage", 403, "Forbidden: bot was blocked by the user",
                       when=lambda p: p.get("chat_id") == str(CLIENT), times=100))
    await h.post(h.staff("Ваше заявление готово", topic=topic))
    warning = await wait_for(lambda: [p for p in topic_posts(h) if "не доставлено" in p["text"]])
    assert "заблокировал бота" in warning[0]["text"]
    assert "Forbidden" not in warning[0]["text"]  # the platform's English stays in the log
    await outbox_item_when(rt, "failed")
    async with rt.sessions() as s:
        reply = await s.scalar(select(Message).where(Message.text == "Ваше заявление готово"))
        client = await s.scalar(select(Client))
    assert reply is not None and reply.delivery == "failed"
    assert client is not None and client.blocked_at is not None
    assert len(h.api.attempts(text="Ваше заявление готово")) == 1


async def test_deleted_topic_is_recreated_on_the_next_message(service: Service) -> None:
    h, _rt = service
    old = await open_topic(h)
    h.api.deleted_topics.add(old)
    await h.post(h.private("Я ещё хотела спросить про льготы"))
    topics = await wait_for(lambda: len(h.api.sent("createForumTopic")) == 2)
    assert topics
    new_posts = await wait_for(lambda: [p for p in topic_posts(h)
                                        if int(p["message_thread_id"]) != old])
    assert "Я ещё хотела спросить про льготы" in new_posts[0]["text"]  # history reposted
    new = int(new_posts[0]["message_thread_id"])
    await h.post(h.staff("Отвечаю в новой теме", topic=new))
    await wait_for(lambda: h.api.sent(chat_id=CLIENT, text="Отвечаю в новой теме"))


async def test_group_without_topics_uses_tags_and_replies(database_url: str,
                                                          api: FakeBotApi) -> None:
    api.forum = False
    rt = build_service(database_url, telegram_settings(api.url))
    h = Harness(api)
    async with TestClient(TestServer(build_app(rt))) as http:
        h.http = http
        await h.post(h.button("consent:specialist"))
        [post] = await wait_for(lambda: h.api.sent(chat_id=STAFF_CHAT))
        assert post["text"].startswith("#c1\n")
        assert "message_thread_id" not in post
        bot_message = {"message_id": 5, "date": 0, "text": post["text"],
                       "chat": {"id": STAFF_CHAT, "type": "supergroup"},
                       "from": {"id": 7000000001, "is_bot": True, "first_name": "Бот"}}
        await h.post(h.staff("Ответ через reply", reply_to=bot_message))
        await wait_for(lambda: h.api.sent(chat_id=CLIENT, text="Ответ через reply"))
        await h.post(h.staff("Просто разговор в группе"))
        await h.post(h.staff("Второй ответ", reply_to=bot_message))
        await wait_for(lambda: h.api.sent(chat_id=CLIENT, text="Второй ответ"))
        assert not h.api.sent(chat_id=CLIENT, text="Просто разговор в группе")


async def test_web_chat_client_is_served_from_a_telegram_topic(service: Service) -> None:
    h, _rt = service
    assert h.http is not None
    await h.http.get("/")  # the chat page gives the visitor an identity cookie
    body = {"id": "w1", "action": "consent:specialist"}
    r = await h.http.post("/api/chat/send", data=json.dumps(body),
                          headers={"Content-Type": "application/json"})
    assert r.status == 200
    [topic] = await wait_for(lambda: h.api.sent("createForumTopic"))
    assert "веб-чат" in topic["name"]
    posts = await wait_for(lambda: topic_posts(h))
    await h.post(h.staff("Ответ для веб-чата", topic=int(posts[0]["message_thread_id"])))

    async def timeline() -> list[dict[str, Any]]:
        assert h.http is not None
        return list((await (await h.http.get("/api/chat/messages?after=0")).json())["messages"])

    for _ in range(100):
        items = await timeline()
        if any(m["text"] == "Ответ для веб-чата" for m in items):
            break
        await asyncio.sleep(0.02)
    assert [m["author"] for m in items if m["text"] == "Ответ для веб-чата"] == ["specialist"]
    assert not h.api.sent(text="Ответ для веб-чата", chat_id=CLIENT)


async def test_web_desk_reply_is_mirrored_into_the_topic(service: Service) -> None:
    h, rt = service
    await open_topic(h)
    async with rt.sessions() as s:
        cid = (await s.scalar(select(Message.conversation_id)))
    assert cid is not None
    await rt.desk.reply(cid, None, "Ответ из кабинета", origin="desk")
    await rt.desk.note(cid, None, "Заметка коллегам", origin="desk")
    await wait_for(lambda: [p for p in topic_posts(h) if "Ответ из кабинета" in p["text"]])
    [note] = await wait_for(lambda: [p for p in topic_posts(h)
                                     if "Заметка коллегам" in p["text"]])
    assert "не видит" in note["text"]
    await wait_for(lambda: h.api.sent(chat_id=CLIENT, text="Ответ из кабинета"))
    assert rt.uploads is not None
    form = await rt.uploads.save("Бланк.pdf", "application/pdf", b"%PDF-1.4", None, rt.clock())
    await rt.desk.reply(cid, None, "", origin="desk", attachments=(form,))
    sent_file = "📎 отправлен файл: Бланк.pdf"
    await wait_for(lambda: [p for p in topic_posts(h) if sent_file in p["text"]])
    await wait_for(lambda: h.api.sent("sendDocument", chat_id=CLIENT))


async def test_only_listed_specialists_are_heard(database_url: str, api: FakeBotApi) -> None:
    rt = build_service(database_url, telegram_settings(api.url, specialist_ids=[100000009]))
    h = Harness(api)
    async with TestClient(TestServer(build_app(rt))) as http:
        h.http = http
        topic = await open_topic(h)
        await h.post(h.staff("Я не специалист", topic=topic, user=100000005))
        await h.post(h.staff("Я специалист", topic=topic))
        await wait_for(lambda: h.api.sent(chat_id=CLIENT, text="Я специалист"))
        assert not h.api.sent(chat_id=CLIENT, text="Я не специалист")


async def test_take_and_transfer_from_the_topic(service: Service) -> None:
    h, rt = service
    topic = await open_topic(h)
    await h.post(h.staff("/take", topic=topic))
    await h.post(h.staff("/transfer urgnet", topic=topic))  # mistyped: no such queue
    await wait_for(lambda: [p for p in topic_posts(h) if "такой очереди нет" in p["text"]])
    await h.post(h.staff("/transfer@example_support_bot urgent", topic=topic))
    await h.post(h.staff("/transfer", topic=topic))
    # Named as specialists know the queue, not by its id.
    await wait_for(lambda: [p for p in topic_posts(h) if "«Срочные обращения»" in p["text"]])
    await wait_for(lambda: [p for p in topic_posts(h) if "/transfer ОЧЕРЕДЬ" in p["text"]])
    async with rt.sessions() as s:
        conv = await s.scalar(select(Conversation))
    assert conv is not None and conv.queue == "urgent"
    assert not h.api.sent(chat_id=CLIENT, text="/take")


async def test_a_reply_after_transferring_away_is_refused_until_taken_back(
        service: Service) -> None:
    h, _rt = service
    topic = await open_topic(h)
    await h.post(h.staff("/take", topic=topic))
    await h.post(h.staff("/transfer urgent", topic=topic))
    await h.post(h.staff("Ответ после передачи", topic=topic))
    await wait_for(lambda: [p for p in topic_posts(h)
                            if "вы передали обращение в другую очередь" in p["text"]])
    assert not h.api.sent(chat_id=CLIENT, text="Ответ после передачи")
    await h.post(h.staff("/take", topic=topic))
    await h.post(h.staff("Ответ после возврата", topic=topic))
    await wait_for(lambda: h.api.sent(chat_id=CLIENT, text="Ответ после возврата"))


async def test_business_message_is_answered_through_the_connection(service: Service) -> None:
    h, _rt = service
    person = {"id": 100000004, "is_bot": False, "first_name": "Ольга"}
    chat = {"id": 100000004, "type": "private", "first_name": "Ольга"}
    message = h.message(chat, person, text="Как оформить единое пособие?",
                        business_connection_id="conn-1")
    await h.post(h.update(business_message=message))
    [sent] = await wait_for(lambda: h.api.sent(chat_id=100000004))
    assert sent["business_connection_id"] == "conn-1"


async def test_service_notes_and_crisis_reach_the_topic(service: Service) -> None:
    h, rt = service
    topic = await open_topic(h)
    async with rt.sessions() as s:
        cid = await s.scalar(select(Conversation.id))
    assert cid is not None
    before = len(topic_posts(h))
    for kind in (EventKind.REMINDER, EventKind.BREACH, EventKind.CRISIS):
        await rt.notifier.publish(ConversationEvent(kind, cid))
    posts = await wait_for(lambda: len(topic_posts(h)) >= before + 3 and topic_posts(h))
    texts = [p["text"] for p in posts[before:] if int(p["message_thread_id"]) == topic]
    assert ["Напоминание" in texts[0], "истёк" in texts[1], "срочное" in texts[2]] == [True] * 3
    assert len(h.api.sent("createForumTopic")) == 1


async def test_forget_asks_then_erases(service: Service) -> None:
    h, rt = service
    await h.post(h.private("Как оформить единое пособие?"))
    await h.post(h.private("/forget"))
    ask = await wait_for(lambda: [m for m in h.api.sent(chat_id=CLIENT)
                                  if "forget_confirm" in json.dumps(m.get("reply_markup"))])
    assert ask
    await h.post(h.button("forget_confirm"))
    await wait_for(lambda: len(h.api.sent(chat_id=CLIENT)) >= 3)
    async with rt.sessions() as s:
        client = await s.scalar(select(Client))
        texts = (await s.scalars(select(Message.text).where(Message.author == "client"))).all()
    assert client is not None and client.erased_at is not None
    assert set(texts) == {""}


async def test_a_message_is_dated_when_received_not_by_telegram(service: Service) -> None:
    """Telegram's date can be anything (hours late after an outage, a skewed clock): the log,
    metrics and retention count from when the service got the message."""
    h, rt = service
    await h.post(h.private("Как получить субсидию на ЖКУ?", date=int(time.time()) - 3 * 3600))
    await h.post(h.private("А если я не успею?", date=int(time.time()) + 3600))
    await wait_for(lambda: len(h.api.sent(chat_id=CLIENT)) >= 2)
    async with rt.sessions() as s:
        times = list(await s.scalars(select(Message.created_at).where(
            Message.author == "client").order_by(Message.id)))
    assert all(abs(t.timestamp() - time.time()) < 60 for t in times)


async def test_a_topic_post_that_meets_a_502_is_retried_with_one_warning_line(
        service: Service, caplog: pytest.LogCaptureFixture) -> None:
    h, _ = service
    h.api.fail(Failure("sendMessage", 502, "", page="<html>502 Bad Gateway</html>",
                       when=lambda p: p.get("chat_id") == str(STAFF_CHAT)))
    await h.post(h.private("Как оформить единое пособие?"))
    await open_topic(h)
    assert [c.ok for c in h.api.attempts(chat_id=STAFF_CHAT)][:2] == [False, True]
    notifier = [r for r in caplog.records if r.name == "bots.telegram.notifier"]
    assert [(r.levelname, r.exc_info) for r in notifier] == [("WARNING", None)]
    assert "HTTP 502" in notifier[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
