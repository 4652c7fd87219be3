"""The Callback API through the project's web app, real vkbottle, a fake VK API."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from handlers.event_ports import EventKind
from storage.models import Client, InboundEvent, Message
from tests.bots.platform_dates import WRONG_DATES, YEAR_AGO, assert_dated_today
from tests.bots.vk.conftest import CONFIRMATION, SECRET, World, until
from tests.bots.vk.fake_vk import (
    GROUP_ID,
    as_event,
    client_message,
    message_event,
    message_new,
    message_reply,
)

USER = 100000001
QUESTION = "Как оформить единое пособие?"


async def test_confirmation_is_answered_with_the_string(callback: World) -> None:
    body = {"type": "confirmation", "group_id": GROUP_ID, "secret": SECRET}
    assert await callback.post(body) == (200, CONFIRMATION)


async def test_wrong_secret_is_refused_and_nothing_kept(callback: World) -> None:
    status, _ = await callback.post(message_new(USER, QUESTION, 1, secret="guess"))
    assert status == 403
    status, _ = await callback.post(message_new(USER, QUESTION, 2))  # no secret at all
    assert status == 403
    assert await callback.rows(InboundEvent) == []


async def test_other_community_is_refused(callback: World) -> None:
    body = message_new(USER, QUESTION, 1, secret=SECRET) | {"group_id": 1}
    assert (await callback.post(body))[0] == 403


@pytest.mark.parametrize(("raw", "fragment"), [
    (b"{not json", "Expecting"),
    (b"[1, 2]", "JSON object"),
    (b"{}", "type"),
    (b'{"type": 5}', "type"),
    (b'{"type": "message_new", "object": [1]}', "object"),
    (b'{"type": "message_new", "event_id": 7}', "event_id"),
    (b'{"type": "message_new", "group_id": "x"}', "group_id"),
])
async def test_malformed_bodies_get_400(callback: World, raw: bytes, fragment: str) -> None:
    status, text = await callback.post(None, raw=raw)
    assert status == 400
    assert fragment in text


async def test_unknown_type_is_acknowledged_and_skipped(callback: World) -> None:
    body = {"type": "message_summary_ready", "group_id": GROUP_ID, "event_id": "x1",
            "secret": SECRET, "object": {"peer_id": USER}}
    assert await callback.post(body) == (200, "ok")
    await callback.settled()
    [kept] = await callback.rows(InboundEvent)
    assert (kept.kind, kept.status) == ("message_summary_ready", "skipped")


async def test_question_gets_the_faq_answer(callback: World) -> None:
    assert await callback.post(message_new(USER, QUESTION, 1, secret=SECRET)) == (200, "ok")
    await until(lambda: callback.fake.delivered)
    [sent] = callback.fake.delivered
    assert sent["peer_id"] == str(USER)
    assert sent["message"].startswith("Единое пособие оформляют")
    assert "https://www.gosuslugi.ru/" in sent["message"]
    keyboard = json.loads(sent["keyboard"])
    assert keyboard["inline"] is True
    actions = [b["action"] for row in keyboard["buttons"] for b in row]
    assert [json.loads(a["payload"]) for a in actions] == [{"a": "specialist"}, {"a": "menu"}]
    assert {a["type"] for a in actions} == {"callback"}
    await callback.settled()
    [stored] = await callback.client_messages()
    assert (stored.text, stored.channel, stored.channel_message_id) == (QUESTION, "vk", "1")


async def test_duplicate_delivery_is_stored_and_answered_once(callback: World) -> None:
    body = message_new(USER, QUESTION, 1, secret=SECRET)
    for _ in range(3):
        assert await callback.post(body) == (200, "ok")
    await callback.settled()
    assert len(await callback.client_messages()) == 1
    assert len(await callback.rows(InboundEvent)) == 1
    assert len(callback.fake.method_calls("messages.send")) == 1


async def test_the_communitys_secret_is_not_kept_with_the_event(callback: World) -> None:
    """The raw body is kept as VK sent it, but for its secret: a replay needs none."""
    body = message_new(USER, QUESTION, 1, secret=SECRET)
    assert await callback.post(body) == (200, "ok")
    await callback.settled(kept=1)
    [kept] = await callback.rows(InboundEvent)
    assert SECRET not in kept.raw
    assert json.loads(kept.raw) == body | {"secret": "[secret]"}
    await callback.plugin.replay(kept.raw)  # after a crash: handled, and stored only once
    await callback.rt.context.inbound.flush()
    [again] = await callback.rows(InboundEvent)
    assert again.status == "processed"
    assert len(await callback.client_messages()) == 1


async def test_start_button_and_clarify_by_payload(callback: World) -> None:
    await callback.post(message_new(USER, "Начать", 1, {"command": "start"}, SECRET))
    await until(lambda: len(callback.fake.delivered) == 1)
    assert "Тестовый центр" in callback.fake.delivered[0]["message"]
    await callback.post(message_new(USER, "Как получить?", 2, secret=SECRET))
    await until(lambda: len(callback.fake.delivered) == 2)
    keyboard = json.loads(callback.fake.delivered[1]["keyboard"])
    payloads = [json.loads(b["action"]["payload"])["a"] for row in keyboard["buttons"]
                for b in row]
    assert "entry:housing.subsidy" in payloads
    # The press of an inline button arrives as message_event and must be answered.
    await callback.post(message_event(USER, {"a": "entry:housing.subsidy"}, 3, SECRET))
    await until(lambda: len(callback.fake.delivered) == 3)
    assert callback.fake.delivered[2]["message"].startswith("Субсидию назначают")
    [answer] = callback.fake.method_calls("messages.sendMessageEventAnswer")
    assert answer.params["event_id"] == "press3"
    # The same choice from a text button with a payload (regular keyboards).
    await callback.post(message_new(USER, "Как получить субсидию…", 4,
                                    {"a": "entry:family.allowance"}, SECRET))
    await until(lambda: len(callback.fake.delivered) == 4)
    assert callback.fake.delivered[3]["message"].startswith("Единое пособие")


async def test_typing_an_option_number_picks_it(callback: World) -> None:
    await callback.post(message_new(USER, "Как получить?", 1, secret=SECRET))
    await until(lambda: len(callback.fake.delivered) == 1)
    clarify = callback.fake.delivered[0]
    keyboard = json.loads(clarify["keyboard"])
    entries = [p.removeprefix("entry:") for row in keyboard["buttons"] for b in row
               if (p := json.loads(b["action"]["payload"])["a"]).startswith("entry:")]
    position = entries.index("housing.subsidy") + 1
    assert f"{position}. Как получить субсидию на ЖКУ?" in clarify["message"]
    await callback.post(message_new(USER, f"{position}", 2, secret=SECRET))
    await until(lambda: len(callback.fake.delivered) == 2)
    assert callback.fake.delivered[1]["message"].startswith("Субсидию назначают")


async def escalate(w: World) -> None:
    await w.post(message_event(USER, {"a": "consent:specialist"}, 1, SECRET))
    await until(lambda: w.fake.delivered)
    assert "специалист" in w.fake.delivered[-1]["message"]
    assert (await w.conversation()).state == "waiting_specialist"


async def test_escalation_by_button(callback: World) -> None:
    await escalate(callback)
    assert EventKind.ESCALATED in [e.kind for e in callback.notified.events]


async def test_manager_reply_in_the_inbox_silences_the_bot(callback: World) -> None:
    await escalate(callback)
    sent_before = len(callback.fake.delivered)
    reply = message_reply(USER, "Иван, записали вас на вторник.", 50, admin=100000009,
                          secret=SECRET)
    assert await callback.post(reply) == (200, "ok")
    await callback.post(reply)  # redelivered
    await callback.settled()
    conv = await callback.conversation()
    assert conv.state == "with_specialist"
    assert conv.first_specialist_reply_at is not None
    [recorded] = await callback.rows(Message, Message.author == "specialist")
    assert (recorded.text, recorded.delivery) == ("Иван, записали вас на вторник.", "sent")
    # The bot's own send echoed back as message_reply is ignored.
    await callback.post(message_reply(USER, "эхо", 51, admin=None, secret=SECRET))
    await callback.post(message_new(USER, QUESTION, 60, secret=SECRET))
    await callback.settled()
    assert len(callback.fake.delivered) == sent_before  # nothing sent by the bot
    assert len(await callback.rows(Message, Message.author == "specialist")) == 1
    kinds = [e.kind for e in callback.notified.events]
    assert EventKind.SPECIALIST_MESSAGE in kinds and EventKind.CLIENT_MESSAGE in kinds


async def test_specialist_reply_from_another_surface_is_sent(callback: World) -> None:
    await escalate(callback)
    conv = await callback.conversation()
    assert await callback.rt.desk.reply(conv.id, None, "Ответ специалиста", origin="desk")
    await until(lambda: "Ответ специалиста" in callback.fake.texts(USER))
    await callback.settled()
    [msg] = await callback.rows(Message, Message.author == "specialist")
    assert msg.delivery == "sent" and msg.channel_message_id


async def test_refused_send_is_failed_and_reported(callback: World) -> None:
    callback.fake.refuse[USER] = 901
    await callback.post(message_new(USER, QUESTION, 1, secret=SECRET))
    await until(lambda: any(e.kind is EventKind.DELIVERY_FAILED
                            for e in callback.notified.events))
    [bot] = await callback.rows(Message, Message.author == "bot")
    assert bot.delivery == "failed"
    [client] = await callback.rows(Client)
    assert client.blocked_at is not None
    assert callback.fake.delivered == []


async def test_closing_asks_for_a_rating_and_takes_it(callback: World) -> None:
    await escalate(callback)
    conv = (await callback.conversation()).id
    assert await callback.rt.desk.reply(conv, None, "Справку выдают в МФЦ.", origin="desk")
    assert await callback.rt.desk.close(conv, origin="desk")
    # One message says the conversation is closed and asks for the rating.
    await until(lambda: len(callback.fake.delivered) == 3)
    closing = callback.fake.delivered[2]
    assert closing["message"].startswith("Специалист завершил обращение. Оцените")
    stars = json.loads(closing["keyboard"])
    assert stars["inline"] is True
    assert [b["action"]["label"] for b in stars["buttons"][0]] == ["1", "2", "3", "4", "5"]
    await callback.post(message_event(USER, {"a": "rate:5"}, 9, SECRET))
    await until(lambda: len(callback.fake.delivered) == 4)
    assert (await callback.conversation()).rating == 5


async def test_forget_erases_the_client_after_confirming(callback: World) -> None:
    await callback.post(message_new(USER, "/forget", 1, secret=SECRET))
    await until(lambda: callback.fake.delivered)
    keyboard = json.loads(callback.fake.delivered[0]["keyboard"])
    assert {"a": "forget_confirm"} in [json.loads(b["action"]["payload"])
                                       for row in keyboard["buttons"] for b in row]
    await callback.post(message_event(USER, {"a": "forget_confirm"}, 2, SECRET))
    await until(lambda: len(callback.fake.delivered) == 2)
    assert callback.fake.delivered[1]["peer_id"] == str(USER)
    await callback.settled()  # the goodbye is queued before the erasure
    [client] = await callback.rows(Client)
    assert client.erased_at is not None and client.user_id.startswith("erased:")


async def test_press_counts_even_when_its_answer_fails(callback: World) -> None:
    callback.fake.expired_presses = True
    await callback.post(message_event(USER, {"a": "menu"}, 1, SECRET))
    await until(lambda: callback.fake.delivered)
    assert callback.fake.method_calls("messages.sendMessageEventAnswer")
    await callback.settled()
    assert [e.status for e in await callback.rows(InboundEvent)] == ["processed"]


async def test_message_deny_and_allow_mark_the_client(callback: World) -> None:
    await callback.post(message_new(USER, QUESTION, 1, secret=SECRET))
    await callback.settled(kept=1)
    deny = {"type": "message_deny", "group_id": GROUP_ID, "event_id": "d1", "v": "5.199",
            "object": {"user_id": USER}, "secret": SECRET}
    await callback.post(deny)
    await callback.settled(kept=2)
    [client] = await callback.rows(Client)
    assert client.blocked_at is not None
    await callback.post({**deny, "type": "message_allow", "event_id": "a1",
                         "object": {"user_id": USER, "key": "x"}})
    await callback.settled(kept=3)
    [client] = await callback.rows(Client)
    assert client.blocked_at is None


@pytest.mark.parametrize("date", WRONG_DATES, ids=["1970", "year_ago"])
async def test_a_message_is_dated_when_received_whatever_its_vk_date(
        callback: World, date: int) -> None:
    body = as_event(client_message(USER, QUESTION, 1, date=date), SECRET)
    assert await callback.post(body) == (200, "ok")
    await callback.settled(kept=1)
    await assert_dated_today(callback.rt, QUESTION)


async def test_a_year_old_reply_from_the_community_is_dated_when_received(
        callback: World) -> None:
    await callback.post(as_event(client_message(USER, QUESTION, 1, date=YEAR_AGO), SECRET))
    await callback.settled(kept=1)
    reply = message_reply(USER, "Здравствуйте, это специалист", 2, admin=555, secret=SECRET)
    reply["object"]["date"] = YEAR_AGO
    assert await callback.post(reply) == (200, "ok")
    await callback.settled(kept=2)
    [stored] = await callback.rows(Message, Message.author == "specialist")
    assert stored.created_at.year == datetime.now(UTC).year
    await assert_dated_today(callback.rt, "Здравствуйте, это специалист")


@pytest.mark.parametrize("raw", [
    json.dumps({"group_id": GROUP_ID, "type": "message_new", "object": "str",
                "secret": SECRET}).encode(),
    json.dumps({"group_id": GROUP_ID, "secret": SECRET, "type": "message_new",
                "object": {"message": {"text": QUESTION}}}, ensure_ascii=False)[:-30].encode(),
    (b'{"type": "message_new", "secret": "' + SECRET.encode()),
], ids=["object not an object", "truncated", "cut in the secret"])
async def test_a_refused_body_is_logged_without_the_secret(
        callback: World, raw: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bots.vk.callback"):
        status, text = await callback.post(None, raw=raw)
    assert status == 400
    [record] = [r for r in caplog.records if r.name == "bots.vk.callback"]
    assert "refused" in record.getMessage()
    assert SECRET not in record.getMessage() and SECRET[:12] not in record.getMessage()
    assert SECRET not in text


DOC = {"type": "doc", "doc": {"id": 1, "owner_id": USER, "title": "заявление.pdf", "ext": "pdf",
                              "size": 3000, "date": 1760000000, "type": 1,
                              "url": "https://vk.example/doc1_1"}}
PHOTO = {"type": "photo", "photo": {"sizes": [
    {"url": "https://vk.example/p.jpg", "width": 800, "height": 600}]}}


@pytest.mark.parametrize(("attachment", "caption"), [
    (DOC, "Заявление во вложении"), (PHOTO, "вот фото моей справки")])
async def test_a_captioned_file_is_acknowledged_as_a_file(
        callback: World, attachment: dict[str, object], caption: str) -> None:
    msg = client_message(USER, caption, 1)
    msg["attachments"] = [attachment]
    await callback.post(as_event(msg, SECRET))
    await callback.settled(kept=1)
    [sent] = callback.fake.delivered
    assert sent["message"].startswith("Файл получен. Я умею отвечать только на текстовые")
    [stored] = await callback.client_messages()
    assert stored.decision == ""  # not on the gaps report


async def test_a_file_captioned_with_a_question_gets_the_answer_too(callback: World) -> None:
    msg = client_message(USER, QUESTION, 1)
    msg["attachments"] = [PHOTO]
    await callback.post(as_event(msg, SECRET))
    await callback.settled(kept=1)
    texts = [d["message"] for d in callback.fake.delivered]
    assert texts[0].startswith("Файл получен — его посмотрит специалист")
    assert texts[-1].startswith("Единое пособие оформляют")


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(("raw", "fragment"), [
    (b'{"type": "message_new", "secret": "' + SECRET.encode() + b'", "t": "\xff"}', "UTF-8"),
    (b'{"type": "message_new", "t": "\xed\xa0\x80"}', "UTF-8"),  # a surrogate as bytes
    (DEEP, "nested too deep"),
    (b'{"type": "message_new", "object": ' + b'{"a": ' * 50_000 + b"1" + b"}" * 50_001,
     "nested too deep"),
], ids=["invalid UTF-8", "surrogate bytes", "deep list", "deep object"])
async def test_hostile_bodies_get_400_with_the_reason_and_no_secret_logged(
        callback: World, raw: bytes, fragment: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bots.vk.callback"):
        status, text = await callback.post(None, raw=raw)
    assert status == 400 and fragment in text
    assert all(SECRET not in r.getMessage() for r in caplog.records)
    assert await callback.rows(InboundEvent) == []


async def test_an_event_id_too_long_to_keep_gets_400(callback: World) -> None:
    body = message_new(USER, QUESTION, 1, secret=SECRET) | {"event_id": "e" * 201}
    status, text = await callback.post(body)
    assert status == 400 and "event_id" in text
    assert await callback.rows(InboundEvent) == []


async def test_a_lone_surrogate_in_the_text_is_replaced_and_the_message_stored(
        callback: World) -> None:
    body = json.dumps(message_new(USER, "Здравствуйте \ud800 пособие", 1, secret=SECRET))
    assert "\\ud800" in body
    assert await callback.post(None, raw=body.encode()) == (200, "ok")
    await callback.settled(kept=1)
    [stored] = await callback.client_messages()
    assert stored.text == "Здравствуйте \ufffd пособие"
