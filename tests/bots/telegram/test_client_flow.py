"""Clients and specialists through real aiogram against a fake Bot API (webhook mode)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select

from priemnaya.runtime import Runtime
from storage.models import Client, Conversation, InboundEvent, Message
from tests.bots.platform_dates import WRONG_DATES, assert_dated_today
from tests.bots.telegram.harness import CLIENT, SPECIALIST, STAFF_CHAT, Harness, wait_for

Service = tuple[Harness, Runtime]


def buttons(call: dict[str, Any]) -> list[str]:
    markup = call.get("reply_markup") or {"inline_keyboard": []}
    return [b["callback_data"] for row in markup["inline_keyboard"] for b in row]


async def to_client(h: Harness, n: int) -> list[dict[str, Any]]:
    return await wait_for(lambda: (s := h.api.sent(chat_id=CLIENT)) and len(s) >= n and s)


async def test_start_shows_consent_with_a_button(service: Service) -> None:
    h, _rt = service
    assert await h.post(h.private("/start")) == 200
    [greeting] = await to_client(h, 1)
    assert "согласие на обработку персональных данных" in greeting["text"]
    assert greeting["parse_mode"] == "HTML"
    assert "consent" in buttons(greeting)
    assert "menu" in buttons(greeting)


async def test_question_gets_the_faq_answer_and_clarify_buttons(service: Service) -> None:
    h, _rt = service
    await h.post(h.private("Как оформить единое пособие?"))
    [answer] = await to_client(h, 1)
    assert answer["text"].startswith("Единое пособие оформляют")
    assert buttons(answer) == ["specialist", "menu"]
    await h.post(h.private("получить"))
    clarify = (await to_client(h, 2))[1]
    assert "entry:family.capital" in buttons(clarify)
    assert "entry:housing.subsidy" in buttons(clarify)
    await h.post(h.button("entry:housing.subsidy"))
    chosen = (await to_client(h, 3))[2]
    assert chosen["text"].startswith("Субсидию назначают")
    assert h.api.sent("answerCallbackQuery")


async def test_typing_an_option_number_is_pressing_its_button(service: Service) -> None:
    h, _rt = service
    await h.post(h.private("получить"))
    [clarify] = await to_client(h, 1)
    offered = [b.removeprefix("entry:") for b in buttons(clarify) if b.startswith("entry:")]
    position = offered.index("housing.subsidy") + 1
    assert f"{position}. Как получить субсидию на ЖКУ?" in clarify["text"]
    await h.post(h.private(str(position)))
    chosen = (await to_client(h, 2))[1]
    assert chosen["text"].startswith("Субсидию назначают")


async def test_a_hashed_button_of_a_renamed_entry_is_matched_by_its_label(
    service: Service
) -> None:
    # "entry:<a long id>" travelled as a hash; the id was renamed since, so nothing decodes.
    from bots.telegram.callbacks import digest

    h, _rt = service
    stale = digest("entry:family.a-very-long-entry-id-renamed-since-the-button-was-sent-x")
    await h.post(h.button(stale, label="Как получить субсидию на ЖКУ?"))
    [chosen] = await to_client(h, 1)
    assert chosen["text"].startswith("Субсидию назначают")


async def test_user_text_is_escaped_for_html(service: Service) -> None:
    h, rt = service
    await h.post(h.button("consent:specialist"))
    topic = await wait_for(lambda: h.api.sent("createForumTopic"))
    assert topic
    cid = await _conversation_id(rt)
    await rt.desk.reply(cid, None, "Пишите <b>сюда</b> & ждите", origin="desk")
    sent = await wait_for(lambda: h.api.sent(chat_id=CLIENT, text="Пишите &lt;b&gt;сюда&lt;/b&gt;"
                                             " &amp; ждите"))
    assert sent[0]["parse_mode"] == "HTML"


async def test_escalation_opens_a_topic_and_relays_both_ways(service: Service) -> None:
    h, rt = service
    await h.post(h.private("Как получить субсидию на ЖКУ?"))
    await h.post(h.button("consent:specialist"))
    [topic] = await wait_for(lambda: h.api.sent("createForumTopic"))
    assert topic["chat_id"] == str(STAFF_CHAT)
    # The client's name is personal data: initials, as the desk shows it to others.
    assert "А. П." in topic["name"] and "Петрова" not in topic["name"]
    assert "Telegram" in topic["name"]
    assert len(topic["name"]) <= 128
    thread = await wait_for(lambda: _topic_posts(h))
    topic_id = int(thread[0]["message_thread_id"])
    assert "Как получить субсидию на ЖКУ?" in thread[0]["text"]
    assert "Субсидию назначают" in thread[0]["text"]

    await h.post(h.private("Мне 80 лет, пенсия маленькая"))
    await wait_for(lambda: any("пенсия маленькая" in p["text"] for p in _topic_posts(h)))

    assert await h.post(h.staff("Здравствуйте! Сейчас посмотрю.", topic=topic_id)) == 200
    await wait_for(lambda: h.api.sent(chat_id=CLIENT, text="Здравствуйте! Сейчас посмотрю."))

    await h.post(h.staff("!проверить доход за 3 месяца", topic=topic_id))
    await h.post(h.staff("/close", topic=topic_id))
    rating = await wait_for(lambda: [m for m in h.api.sent(chat_id=CLIENT)
                                     if "rate:5" in buttons(m)])
    assert rating
    assert not h.api.sent(chat_id=CLIENT, text="проверить доход за 3 месяца")
    assert not [m for m in h.api.sent(chat_id=CLIENT) if "проверить" in m["text"]]
    await h.post(h.button("rate:5"))
    async with rt.sessions() as s:
        conv = await s.scalar(select(Conversation))
        notes = (await s.scalars(select(Message).where(Message.internal.is_(True)))).all()
    assert conv is not None and conv.state == "closed"
    assert conv.rating == 5
    assert [n.text for n in notes] == ["проверить доход за 3 месяца"]
    await wait_for(lambda: any("закрыто" in p["text"] for p in _topic_posts(h)))


async def test_a_corrected_reply_reaches_the_client_once(service: Service) -> None:
    h, _rt = service
    await h.post(h.button("consent:specialist"))
    thread = await wait_for(lambda: _topic_posts(h))
    topic_id = int(thread[0]["message_thread_id"])
    original = h.staff("Приходите в среду", topic=topic_id)
    await h.post(original)
    await wait_for(lambda: h.api.sent(chat_id=CLIENT, text="Приходите в среду"))
    fixed = {**original["message"], "text": "Приходите в четверг",
             "edit_date": original["message"]["date"] + 60}
    await h.post(h.update(edited_message=fixed))
    await h.post(h.update(edited_message=fixed))  # the same edit delivered again
    note = {**h.staff("!позвонить", topic=topic_id)["message"], "edit_date": fixed["edit_date"]}
    await h.post(h.update(edited_message={**note, "text": "!позвонить завтра"}))
    correction = ("Исправление к предыдущему сообщению специалиста:\n"
                  "Приходите в четверг")
    await wait_for(lambda: h.api.sent(chat_id=CLIENT, text=correction))
    await asyncio.sleep(0.3)  # time for a duplicate or a leaked note to arrive, if any would
    assert len(h.api.sent(chat_id=CLIENT, text=correction)) == 1
    assert not [m for m in h.api.sent(chat_id=CLIENT) if "позвонить" in m["text"]]


async def test_any_group_member_counts_when_no_list_is_set(service: Service) -> None:
    h, _rt = service
    await h.post(h.button("consent:specialist"))
    thread = await wait_for(lambda: _topic_posts(h))
    topic_id = int(thread[0]["message_thread_id"])
    # Everyone in the group counts when specialist_ids is empty (the default here).
    await h.post(h.staff("Ответ от коллеги", topic=topic_id, user=SPECIALIST + 1))
    await wait_for(lambda: h.api.sent(chat_id=CLIENT, text="Ответ от коллеги"))


async def test_group_chatter_gets_no_answer(service: Service) -> None:
    h, _rt = service
    before = len(h.api.calls)
    for text in ("Как оформить единое пособие?", "/start", "здравствуйте"):
        assert await h.post(h.staff(text)) == 200
        assert await h.post(h.staff(text, topic=999)) == 200
    group = {"id": -4000000001, "type": "group", "title": "Соседи"}
    person = {"id": 100000004, "is_bot": False, "first_name": "Пётр"}
    await h.post(h.update(message=h.message(group, person, text="Как оформить единое пособие?")))
    await h.post(h.private("Как оформить единое пособие?"))  # a sentinel the outbox sends
    await to_client(h, 1)
    said = [c for c in h.api.calls[before:] if c.method.startswith("send")]
    assert [c.params["chat_id"] for c in said] == [str(CLIENT)]


async def test_duplicate_update_is_handled_once(service: Service) -> None:
    h, rt = service
    update = h.private("Как оформить единое пособие?")
    assert await h.post(update) == 200
    assert await h.post(update) == 200
    await to_client(h, 1)
    await h.post(h.private("Как получить субсидию на ЖКУ?"))
    await to_client(h, 2)
    async with rt.sessions() as s:
        stored = (await s.scalars(select(Message).where(Message.author == "client"))).all()
    assert [m.text for m in stored] == ["Как оформить единое пособие?",
                                        "Как получить субсидию на ЖКУ?"]
    assert len(h.api.sent(chat_id=CLIENT)) == 2


async def test_wrong_webhook_secret_is_refused(service: Service) -> None:
    h, rt = service
    assert await h.post(h.private("Как оформить единое пособие?"), secret="wrong") == 403
    assert await h.post(h.private("Как оформить единое пособие?"), secret="") == 403
    async with rt.sessions() as s:
        assert (await s.scalars(select(Message))).all() == []


async def test_webhook_is_set_with_secret_and_allowed_updates(service: Service) -> None:
    h, _rt = service
    [call] = await wait_for(lambda: h.api.sent("setWebhook"))
    assert call["secret_token"] == "s3cret-token_value"
    assert "callback_query" in call["allowed_updates"]
    assert call["url"] == "https://bot.example.org/telegram/webhook"


def _topic_posts(h: Harness) -> list[dict[str, Any]]:
    return [p for p in h.api.sent(chat_id=STAFF_CHAT) if p.get("message_thread_id")]


async def _conversation_id(rt: Runtime) -> int:
    async with rt.sessions() as s:
        conv = await s.scalar(select(Conversation))
    assert conv is not None
    return conv.id


@pytest.mark.parametrize("date", WRONG_DATES, ids=["1970", "year_ago"])
async def test_a_message_is_dated_when_received_whatever_its_telegram_date(
        service: Service, date: int) -> None:
    h, rt = service
    await h.post(h.private("Как оформить единое пособие?", date=date))
    await to_client(h, 1)
    await assert_dated_today(rt, "Как оформить единое пособие?")


PHOTO = [{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90}]
DOCUMENT = {"file_id": "DOC", "file_unique_id": "d", "file_name": "заявление.pdf"}


@pytest.mark.parametrize("fields", [
    {"caption": "Заявление во вложении", "document": DOCUMENT},
    {"caption": "вот фото моей справки", "photo": PHOTO}], ids=["document", "photo"])
async def test_a_captioned_file_is_acknowledged_as_a_file(
        service: Service, fields: dict[str, Any]) -> None:
    h, rt = service
    await h.post(h.private(**fields))
    [reply] = await to_client(h, 1)
    assert reply["text"].startswith("Файл получен. Я умею отвечать только на текстовые")
    async with rt.sessions() as s:
        decision = await s.scalar(select(Message.decision).where(Message.author == "client"))
    assert decision == ""  # not on the gaps report


async def test_a_file_captioned_with_a_question_gets_the_answer_too(service: Service) -> None:
    h, _rt = service
    await h.post(h.private(caption="Как оформить единое пособие?", photo=PHOTO))
    ack, answer = await to_client(h, 2)
    assert ack["text"].startswith("Файл получен — его посмотрит специалист")
    assert answer["text"].startswith("Единое пособие оформляют")


async def test_a_client_who_declined_has_no_name_in_the_raw_updates(service: Service) -> None:
    """After «Не согласен(на)» the profile's name is in no raw update kept: neither the
    refusal's nor those that follow; the updates still read as Telegram's for a replay."""
    h, rt = service
    await h.post(h.private("Как оформить единое пособие?"))
    await h.post(h.button("consent:decline"))
    await h.post(h.private("Как получить субсидию на ЖКУ?"))
    await to_client(h, 3)
    await rt.context.inbound.flush()
    async with rt.sessions() as s:
        events = (await s.scalars(select(InboundEvent).order_by(InboundEvent.id))).all()
        client = await s.scalar(select(Client))
    assert len(events) == 2  # the one processed before the refusal went with it
    assert [e.status for e in events] == ["processed", "processed"]
    kept = [json.dumps(json.loads(e.raw), ensure_ascii=False) for e in events]
    assert [raw for raw in kept if "Анна" in raw or "Петрова" in raw] == []
    assert all(json.loads(raw)["update_id"] for raw in kept)
    assert client is not None and client.display_name == ""


@pytest.mark.parametrize(("raw", "fragment"), [
    (b'{"update_id": 5, "message": {"text": "\xff"}}', "UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deep"),
], ids=["invalid UTF-8", "deep nesting"])
async def test_hostile_webhook_bodies_get_400(service: Service, raw: bytes,
                                              fragment: str) -> None:
    from tests.bots.telegram.harness import SECRET, SECRET_HEADER

    h, rt = service
    assert h.http is not None
    response = await h.http.post("/telegram/webhook", data=raw, headers={
        SECRET_HEADER: SECRET, "Content-Type": "application/json"})
    assert response.status == 400 and fragment in (await response.json())["error"]
    async with rt.sessions() as s:
        assert (await s.scalars(select(InboundEvent))).all() == []


async def test_a_lone_surrogate_in_a_webhook_text_is_replaced(service: Service) -> None:
    h, rt = service
    body = json.dumps(h.private("Здравствуйте \ud800 пособие"))
    assert "\\ud800" in body and await h.post(body) == 200
    await to_client(h, 1)
    async with rt.sessions() as s:
        [stored] = (await s.scalars(select(Message).where(Message.author == "client"))).all()
    assert stored.text == "Здравствуйте \ufffd пособие"
