"""A specialist's files in the topic reach the client: by file_id in Telegram, by a download
link in the web chat (fetched from the fake Bot API through getFile)."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import unquote

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from priemnaya.runtime import Runtime
from priemnaya.webapp import build_app
from storage.models import Message, OutboxItem
from tests.bots.telegram.harness import CLIENT, STAFF_CHAT, Harness, wait_for

Service = tuple[Harness, Runtime]
FORM = b"%PDF-1.4 application form for the regional payment"


def staff_file(h: Harness, topic: int, caption: str = "", **file: Any) -> dict[str, Any]:
    update = h.staff("", topic=topic)
    message = update["message"]
    del message["text"]
    if caption:
        message["caption"] = caption
    message.update(file)
    return update


async def escalate_telegram_client(h: Harness) -> int:
    await h.post(h.private("Как получить субсидию на ЖКУ?"))
    await h.post(h.button("consent:specialist"))
    assert await wait_for(lambda: h.api.sent("createForumTopic"))
    await wait_for(lambda: topic_posts(h))
    return int(topic_posts(h)[0]["message_thread_id"])


def topic_posts(h: Harness) -> list[dict[str, Any]]:
    return [p for p in h.api.sent(chat_id=STAFF_CHAT) if p.get("message_thread_id")]


async def test_document_and_photo_reach_a_telegram_client_by_file_id(service: Service) -> None:
    h, rt = service
    topic = await escalate_telegram_client(h)
    document = {"file_id": "DOC1", "file_unique_id": "uDOC1", "file_name": "заявление.pdf"}
    await h.post(staff_file(h, topic, "Заполните, пожалуйста, этот бланк", document=document))
    photo = [{"file_id": "PH1", "file_unique_id": "uPH1", "width": 90, "height": 90},
             {"file_id": "PH2", "file_unique_id": "uPH2", "width": 900, "height": 900}]
    await h.post(staff_file(h, topic, photo=photo))

    [sent_doc] = await wait_for(lambda: h.api.sent("sendDocument", chat_id=CLIENT))
    [sent_photo] = await wait_for(lambda: h.api.sent("sendPhoto", chat_id=CLIENT))
    assert sent_doc["document"] == "DOC1"  # passed on by file_id: nothing downloaded
    assert sent_photo["photo"] == "PH2"  # the largest size
    assert h.api.sent(chat_id=CLIENT, text="Заполните, пожалуйста, этот бланк")
    assert not h.api.attempts("getFile")
    for _ in range(200):  # the outbox marks the deliveries just after the sends
        async with rt.sessions() as s:
            rows = (await s.scalars(select(Message).where(Message.author == "specialist")
                                    .order_by(Message.id))).all()
        if [r.delivery for r in rows] == ["sent", "sent"]:
            break
        await asyncio.sleep(0.02)
    assert [r.delivery for r in rows] == ["sent", "sent"]
    assert [r.text for r in rows] == ["Заполните, пожалуйста, этот бланк", ""]
    assert rows[0].attachments == [{"kind": "document", "ref": "DOC1",
                                    "name": "заявление.pdf", "source": "telegram"}]


async def test_a_location_alone_is_not_sent_and_the_specialist_is_told(
        service: Service) -> None:
    h, rt = service
    topic = await escalate_telegram_client(h)
    # The hand-over's replies may still wait in the outbox behind one another (they go out in
    # order): count what the client got once none is pending.
    for _ in range(200):
        async with rt.sessions() as s:
            if not (await s.scalars(select(OutboxItem.id).where(
                    OutboxItem.status == "pending"))).all():
                break
        await asyncio.sleep(0.02)
    before = len(h.api.sent(chat_id=CLIENT))
    await h.post(staff_file(h, topic, location={"latitude": 56.84, "longitude": 60.61}))
    notice = await wait_for(lambda: [p for p in topic_posts(h) if "Геопозицию" in p["text"]])
    assert notice[0]["message_thread_id"] == str(topic)
    assert len(h.api.sent(chat_id=CLIENT)) == before
    assert not h.api.sent("sendLocation")


async def test_a_web_chat_client_downloads_the_specialists_file(service: Service) -> None:
    h, rt = service
    h.api.files["DOC7"] = FORM
    # The service runs already: these apps only serve pages (no second outbox, no shutdown).
    async with TestClient(TestServer(build_app(rt, start_background=False))) as web, \
            TestClient(TestServer(build_app(rt, start_background=False))) as stranger:
        assert (await web.get("/")).status == 200
        await post_chat(web, {"id": "w1", "text": "Нужна помощь с документами"})
        await post_chat(web, {"id": "w2", "action": "consent:specialist"})
        await wait_for(lambda: h.api.sent("createForumTopic"))
        topic = int((await wait_for(lambda: topic_posts(h)))[0]["message_thread_id"])
        document = {"file_id": "DOC7", "file_unique_id": "uDOC7",
                    "file_name": "Заявление на выплату.pdf"}
        await h.post(staff_file(h, topic, "Бланк заявления", document=document))

        files = await wait_for_files(web)
        assert files[0]["name"] == "Заявление на выплату.pdf"
        r = await web.get(files[0]["url"])
        assert r.status == 200
        assert await r.read() == FORM
        assert r.headers["Content-Type"] == "application/pdf"
        assert unquote(r.headers["Content-Disposition"]).endswith(
            "''Заявление на выплату.pdf")
        assert r.headers["X-Content-Type-Options"] == "nosniff"

        assert (await stranger.get("/")).status == 200
        assert (await stranger.get(files[0]["url"])).status == 404
        assert (await web.get(files[0]["url"].replace("/0", "/1"))).status == 404
        assert (await web.get("/api/chat/files/abc/0")).status == 404

        assert await (await web.get(files[0]["url"])).read() == FORM
        assert len(h.api.attempts("getFile")) == 1  # kept: a second click downloads nothing

        lost = {"file_id": "DOC8", "file_unique_id": "uDOC8", "file_name": "старый.pdf"}
        await h.post(staff_file(h, topic, document=lost))  # Telegram no longer has it
        for _ in range(200):
            files = await wait_for_files(web)
            if len(files) == 2:
                break
            await asyncio.sleep(0.02)
        gone = await web.get(files[1]["url"])
        assert gone.status == 410
        assert "больше недоступен" in (await gone.json())["error"]


async def post_chat(c: TestClient, body: dict[str, Any]) -> None:
    r = await c.post("/api/chat/send", data=json.dumps(body),
                     headers={"Content-Type": "application/json"})
    assert r.status == 200, await r.text()


async def wait_for_files(c: TestClient) -> list[dict[str, str]]:
    async def files() -> list[dict[str, str]]:
        data = await (await c.get("/api/chat/messages?after=0")).json()
        return [f for m in data["messages"] for f in m.get("files", [])]

    for _ in range(200):
        if found := await files():
            return found
        await asyncio.sleep(0.02)
    raise AssertionError("no file reached the web chat")


async def test_a_file_sent_from_the_desk_is_uploaded_to_a_telegram_client(
        service: Service) -> None:
    h, rt = service
    await escalate_telegram_client(h)
    async with rt.sessions() as s:
        conv = await s.scalar(select(Message.conversation_id).limit(1))
    assert rt.uploads is not None and conv is not None
    form = await rt.uploads.save("Бланк.pdf", "application/pdf", FORM, None, rt.clock())
    photo = await rt.uploads.save("Образец.png", "image/png", b"\x89PNG\r\n\x1a\n...", None,
                                  rt.clock())
    assert await rt.desk.reply(conv, None, "Бланк и образец", origin="desk",
                               attachments=(form, photo))
    [sent] = await wait_for(lambda: h.api.sent("sendDocument", chat_id=CLIENT))
    [picture] = await wait_for(lambda: h.api.sent("sendPhoto", chat_id=CLIENT))
    assert sent["document"]["content"] == FORM
    assert unquote(sent["document"]["filename"]) == "Бланк.pdf"
    assert picture["photo"]["content"].startswith(b"\x89PNG")
    assert h.api.sent(chat_id=CLIENT, text="Бланк и образец")

