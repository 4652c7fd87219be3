"""The web chat through aiohttp's test client, on a real database."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bots.web.chat import RECEPTION
from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from storage.models import Conversation, Message
from tests.fakes import FakeFaq

SESSIONS: dict[int, object] = {}


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[TestClient]:
    settings = Settings(database={"url": database_url}, outbox={"poll_interval_s": 0.05})
    rt = build_runtime(settings, FakeFaq())
    async with TestClient(TestServer(build_app(rt))) as c:
        SESSIONS[id(c)] = rt.sessions
        yield c
        SESSIONS.pop(id(c))


@contextmanager
def caplog_silenced() -> Iterator[None]:
    """The expected traceback of a failing request stays out of the test output."""
    logger = logging.getLogger("priemnaya.webapp")
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = False


async def open_chat(c: TestClient) -> None:
    page = await c.get("/")
    assert page.status == 200
    assert "Онлайн-приёмная" in await page.text()
    assert "priemnaya_client" in page.cookies


async def send(c: TestClient, body: object, **kw: object):
    return await c.post("/api/chat/send", data=json.dumps(body),
                        headers={"Content-Type": "application/json"}, **kw)


async def wait_for_messages(c: TestClient, n: int) -> list[dict]:
    for _ in range(100):
        data = await (await c.get("/api/chat/messages?after=0")).json()
        if len(data["messages"]) >= n:
            return data["messages"]
        await asyncio.sleep(0.02)
    raise AssertionError(f"fewer than {n} messages: {data}")


async def test_question_gets_the_answer(client: TestClient) -> None:
    await open_chat(client)
    r = await send(client, {"id": "m1", "text": "Как оформить единое пособие?"})
    assert (r.status, await r.json()) == (200, {"ok": True, "duplicate": False})
    messages = await wait_for_messages(client, 2)
    assert messages[0]["author"] == "client"
    assert messages[1]["author"] == "bot"
    assert messages[1]["text"].startswith("Единое пособие оформляют")
    labels = [b["label"] for row in messages[1]["buttons"] for b in row]
    assert labels == ["Задать вопрос специалисту", "Главное меню"]


async def test_button_action_and_escalation_reach_database(client: TestClient) -> None:
    await open_chat(client)
    await send(client, {"id": "m1", "action": "consent:specialist"})
    sessions = SESSIONS[id(client)]
    async with sessions() as s:
        conv = await s.scalar(select(Conversation))
    assert conv.state == "waiting_specialist"
    assert conv.channel == "web"


async def test_message_delivered_twice_is_stored_once(client: TestClient) -> None:
    await open_chat(client)
    body = {"id": "same-id", "text": "Как оформить единое пособие?"}
    assert (await (await send(client, body)).json())["duplicate"] is False
    assert (await (await send(client, body)).json())["duplicate"] is True
    await wait_for_messages(client, 2)
    async with SESSIONS[id(client)]() as s:
        rows = (await s.scalars(select(Message).where(Message.author == "client"))).all()
    assert len(rows) == 1


async def test_a_button_pressed_twice_at_once_is_stored_once(client: TestClient) -> None:
    """The page sends a resent press with its button group's id, as a double tap may."""
    await open_chat(client)
    body = {"id": "press-1", "action": "menu", "text": "Главное меню"}
    answers = await asyncio.gather(send(client, body), send(client, body))
    assert sorted([(await r.json())["duplicate"] for r in answers]) == [False, True]
    await wait_for_messages(client, 2)
    async with SESSIONS[id(client)]() as s:
        rows = (await s.scalars(select(Message).where(Message.action == "menu"))).all()
    assert len(rows) == 1


async def test_html_is_stored_as_text_and_served_as_json(client: TestClient) -> None:
    await open_chat(client)
    await send(client, {"id": "x1", "text": "<script>alert(1)</script>"})
    messages = await wait_for_messages(client, 2)
    assert messages[0]["text"] == "<script>alert(1)</script>"
    page = await (await client.get("/")).text()
    assert "<script>alert(1)</script>" not in page


@pytest.mark.parametrize(("body", "status", "fragment"), [
    ({"id": "e1", "text": ""}, 400, "пустое"),
    ({"id": "e2", "text": "   "}, 400, "пустое"),
    ({"id": "e3", "text": "я" * 50_000}, 413, "слишком длинное"),
    ({"id": "e4", "text": 5}, 400, "строками"),
    ({"text": "без id"}, 400, "id"),
    ({"id": "../../etc", "text": "x"}, 400, "id"),
    ([1, 2], 400, "JSON-объект"),
])
async def test_hostile_input_gets_clear_4xx(client: TestClient, body: object, status: int,
                                            fragment: str) -> None:
    await open_chat(client)
    r = await send(client, body)
    assert r.status == status
    assert fragment in (await r.json())["error"]


async def test_malformed_requests_are_4xx(client: TestClient) -> None:
    await open_chat(client)
    r = await client.post("/api/chat/send", data=b"{not json",
                          headers={"Content-Type": "application/json"})
    assert r.status == 400
    r = await client.get("/api/chat/messages?after=-1")
    assert r.status == 400
    r = await client.post("/api/chat/send", data=io.BytesIO(b"x" * 2_000_000))
    assert r.status == 413
    assert "слишком большой" in (await r.json())["error"]


async def test_api_without_cookie_is_refused(database_url: str) -> None:
    settings = Settings(database={"url": database_url})
    rt = build_runtime(settings, FakeFaq())
    async with TestClient(TestServer(build_app(rt, start_background=False))) as c:
        r = await send(c, {"id": "m1", "text": "привет"})
        assert r.status == 403
        assert (await c.get("/api/chat/messages")).status == 403


@pytest.mark.parametrize(("length", "wording"), [
    (4001, "4001 знак,"), (4002, "4002 знака,"), (4005, "4005 знаков,"), (4011, "4011 знаков,"),
])
async def test_too_long_message_names_its_length_in_agreeing_russian(
        client: TestClient, length: int, wording: str) -> None:
    await open_chat(client)
    r = await send(client, {"id": "long", "text": "я" * length})
    assert r.status == 413
    assert f"Сообщение слишком длинное: {wording} можно до 4000" in (await r.json())["error"]


async def test_unknown_button_is_named_as_such_not_as_an_empty_message(
        client: TestClient) -> None:
    await open_chat(client)
    r = await send(client, {"id": "u1", "action": "drop_tables", "text": ""})
    assert r.status == 400
    error = (await r.json())["error"]
    assert "Эта кнопка устарела" in error
    assert "пустое" not in error


async def test_lone_surrogate_is_replaced_and_the_message_answered(client: TestClient) -> None:
    await open_chat(client)
    r = await client.post("/api/chat/send", data='{"text":"\\ud800 привет","id":"sur1"}',
                          headers={"Content-Type": "application/json"})
    assert (r.status, await r.json()) == (200, {"ok": True, "duplicate": False})
    messages = await wait_for_messages(client, 2)
    assert messages[0]["text"] == "\ufffd привет"
    assert messages[1]["author"] == "bot"


@pytest.mark.parametrize(("raw", "fragment"), [
    (b'{"text": "\xff", "id": "b1"}', "UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
    (b'{"text": "x", "id": "d1", "more": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "nested too deep"),
], ids=["invalid UTF-8", "deep list", "deep field"])
async def test_hostile_bodies_get_400_with_the_reason(
        client: TestClient, raw: bytes, fragment: str) -> None:
    await open_chat(client)
    r = await client.post("/api/chat/send", data=raw,
                          headers={"Content-Type": "application/json"})
    assert r.status == 400 and fragment in (await r.json())["error"]


async def test_a_nul_character_is_dropped_so_every_database_stores_the_message(
        client: TestClient) -> None:
    await open_chat(client)
    r = await client.post("/api/chat/send", data='{"text":"hi\\u0000there","id":"nul1"}',
                          headers={"Content-Type": "application/json"})
    assert (r.status, await r.json()) == (200, {"ok": True, "duplicate": False})
    messages = await wait_for_messages(client, 2)
    assert messages[0]["text"] == "hithere"


async def test_internal_error_does_not_claim_the_message_was_saved(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    await open_chat(client)

    async def broken(msg: object) -> bool:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(client.server.app[RECEPTION], "handle", broken)
    with caplog_silenced():
        r = await send(client, {"id": "f1", "text": "Как оформить единое пособие?"})
    assert r.status == 500
    error = (await r.json())["error"]
    assert "Внутренняя ошибка" in error
    assert "сохранено" not in error


async def test_forget_confirm_never_asked_for_asks_and_erases_nothing(
        client: TestClient) -> None:
    await open_chat(client)
    await send(client, {"id": "q1", "text": "Как оформить единое пособие?"})
    await wait_for_messages(client, 2)
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))["priemnaya_client"]
    r = await send(client, {"id": "f2", "action": "forget_confirm", "text": ""})
    assert (r.status, await r.json()) == (200, {"ok": True, "duplicate": False})
    jar = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    assert jar["priemnaya_client"].value == token.value
    messages = await wait_for_messages(client, 4)
    assert messages[0]["text"] == "Как оформить единое пособие?"
    assert next(b["action"] for row in messages[-1]["buttons"] for b in row) == "forget_confirm"


async def test_forgetting_shows_the_confirmation_and_starts_a_fresh_chat(
        client: TestClient) -> None:
    await open_chat(client)
    await send(client, {"id": "q1", "text": "Как оформить единое пособие?"})
    await wait_for_messages(client, 2)
    old_token = client.session.cookie_jar.filter_cookies(client.make_url("/"))["priemnaya_client"]
    before = await (await client.get("/api/chat/messages?after=0")).json()
    await send(client, {"id": "f1", "text": "/forget"})
    r = await send(client, {"id": "f2", "action": "forget_confirm", "text": ""})
    assert r.status == 200
    data = await r.json()
    assert data["ok"] is True
    assert data["reset"] is True
    assert data["notice"].startswith("Ваши данные удалены")
    jar = client.session.cookie_jar.filter_cookies(client.make_url("/"))
    assert jar["priemnaya_client"].value != old_token.value
    fresh = await (await client.get("/api/chat/messages?after=0")).json()
    assert fresh["messages"] == []
    # A new visitor: the other tabs of this browser see it and clear their conversation.
    assert fresh["identity"] != before["identity"]


async def test_a_broken_override_of_a_client_text_still_offers_the_specialist(
        database_url: str, tmp_path) -> None:
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "no_match.j2").write_text(
        "Не нашла ответа {% if x %} сломано\n", encoding="utf-8")
    settings = Settings(database={"url": database_url}, outbox={"poll_interval_s": 0.05},
                        templates={"override_dir": tmp_path})
    rt = build_runtime(settings, FakeFaq())
    async with TestClient(TestServer(build_app(rt))) as c:
        SESSIONS[id(c)] = rt.sessions
        await open_chat(c)
        r = await send(c, {"id": "m1", "text": "Сколько стоит билет на луну"})
        assert r.status == 200
        reply = (await wait_for_messages(c, 2))[1]
        SESSIONS.pop(id(c))
    assert reply["text"].startswith("К сожалению, я не нашёл точного ответа")
    labels = [b["label"] for row in reply["buttons"] for b in row]
    assert "Задать вопрос специалисту" in labels
    assert [b.file for b in rt.texts.broken()] == [str(tmp_path / "messages" / "no_match.j2")]


async def test_words_masked_after_a_refused_consent_are_explained_under_them(
        client: TestClient) -> None:
    await open_chat(client)
    await send(client, {"id": "m1", "text": "Меня зовут Анна Петрова, как быть с пособием"})
    await send(client, {"id": "m2", "text": "Как оформить единое пособие?"})
    await send(client, {"id": "m3", "action": "specialist"})
    await send(client, {"id": "m4", "action": "consent:decline"})
    mine = [m for m in await wait_for_messages(client, 8) if m["author"] == "client"]
    assert [(m["text"], m["note"]) for m in mine if m["text"]] == [
        ("Меня зовут [ФИО], как быть с пособием",
         "Имя и другие личные данные здесь скрыты: без вашего согласия мы их не храним."),
        ("Как оформить единое пособие?", "")]


async def test_after_declining_consent_the_chat_shows_and_stores_the_data_masked(
        client: TestClient) -> None:
    """The bot has just said it keeps no phone or СНИЛС: the client's next message is shown
    back, and stored, masked (the acceptance tester's steps)."""
    await open_chat(client)
    await send(client, {"id": "m1", "text": "оператор!"})
    notice = (await wait_for_messages(client, 2))[-1]
    decline = next(b for row in notice["buttons"] for b in row if b["label"].startswith("Не"))
    await send(client, {"id": "m2", "action": decline["action"], "text": decline["label"]})
    said = (await wait_for_messages(client, 4))[-1]["text"]
    assert "личные данные из ваших сообщений мы не храним" in said
    await send(client, {"id": "m3", "text": "мой телефон 89001234567, СНИЛС 112-233-445 95"})
    shown = (await wait_for_messages(client, 6))[4]
    async with SESSIONS[id(client)]() as s:
        stored = await s.scalar(select(Message.text).where(Message.dedupe_key == "web:m3"))
    assert shown["text"] == stored == "мой телефон [телефон], СНИЛС [СНИЛС]"


async def test_the_options_a_clarification_asks_to_number_are_numbered(
        client: TestClient) -> None:
    """The text asks for the number of an option whose numbered line the web chat leaves out:
    each such button says its number, and the number written picks that one."""
    await open_chat(client)
    await send(client, {"id": "c1", "text": "получить"})
    clarify = (await wait_for_messages(client, 2))[-1]
    assert "напишите его номер" in clarify["text"] and "1." not in clarify["text"]
    numbered = [(b["number"], b["label"]) for row in clarify["buttons"] for b in row]
    assert numbered[:2] == [(1, "Как получить областной материнский капитал?"),
                            (2, "Как получить субсидию на ЖКУ?")]
    assert [number for number, _ in numbered[2:]] == [None] * (len(numbered) - 2)
    await send(client, {"id": "c2", "text": "2"})
    assert (await wait_for_messages(client, 4))[-1]["text"].startswith("Субсидию назначают")
