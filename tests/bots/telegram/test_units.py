"""Pure parts of the adapter: callback data, rendering, addresses, raw conversion."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bots.telegram.callbacks import MAX_CALLBACK_BYTES, CallbackCodec
from bots.telegram.convert import client_message_of, to_incoming
from bots.telegram.sender import MAX_TEXT, keyboard, parse_address, parts_of
from bots.text import utf16_len
from faq.model import Entry
from handlers.delivery_ports import DeliveryRefused
from handlers.model import Action, ActionKind, Button, Reply
from tests.fakes import KB, FakeFaq

LONG_ID = "housing." + "очень-длинный-идентификатор-записи-" * 2


class LongFaq(FakeFaq):
    kb = replace(KB, entries=(*KB.entries, Entry(LONG_ID, "housing", "Вопрос?", "Ответ.")),
                 _by_id={})


def test_long_actions_are_hashed_and_decoded_after_a_restart() -> None:
    action = Action(ActionKind.ENTRY, LONG_ID)
    data = CallbackCodec(LongFaq()).encode(action)
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    assert CallbackCodec(LongFaq()).decode(data) == action  # a fresh codec: no memory
    short = Action(ActionKind.RATE, "5")
    assert CallbackCodec(LongFaq()).encode(short) == "rate:5"
    assert CallbackCodec(LongFaq()).decode("h:unknown") is None


def test_keyboard_and_long_answer_split_with_buttons_on_the_last_part() -> None:
    text = ("Абзац <b>про</b> & пособие. " * 40 + "\n\n") * 8
    reply = Reply(text, ((Button("Меню", Action(ActionKind.MENU)),),))
    parts = parts_of(reply)
    assert len(parts) > 1
    assert all(utf16_len(p.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
               <= MAX_TEXT for p in parts)
    assert "<b>" not in "".join(parts) and "&lt;b&gt;" in parts[0]
    markup = keyboard(reply.buttons, CallbackCodec(FakeFaq()))
    assert markup is not None
    assert markup.inline_keyboard[0][0].callback_data == "menu"


def test_addresses() -> None:
    assert parse_address("100") == (100, None)
    assert parse_address("100@conn-1") == (100, "conn-1")
    with pytest.raises(DeliveryRefused):
        parse_address("web-token")


def test_group_and_bot_messages_are_not_client_messages() -> None:
    group = {"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "привет",
                                         "chat": {"id": -5, "type": "group"}}}
    from_bot = {"update_id": 2, "message": {"message_id": 1, "date": 0, "text": "x",
                                            "chat": {"id": 5, "type": "private"},
                                            "from": {"id": 5, "is_bot": True}}}
    garbage = {"update_id": 3, "message": {"chat": "not an object"}}
    assert client_message_of(group) is None
    assert client_message_of(from_bot) is None
    assert client_message_of(garbage) is None


def test_edited_message_gets_its_own_event_id() -> None:
    msg = {"message_id": 7, "date": 0, "edit_date": 99, "text": "исправила",
           "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "first_name": "Анна"}}
    incoming = to_incoming("edited_message", msg)
    assert incoming.event_id == "5:7:e99"
    assert to_incoming("message", msg).event_id == "5:7"
    assert incoming.display_name == "Анна"


def test_lone_surrogates_in_text_and_name_are_replaced() -> None:
    msg = {"message_id": 8, "date": 0, "text": "\ud800 привет",
           "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "first_name": "Ан\udc00на"}}
    incoming = to_incoming("message", msg)
    assert (incoming.text, incoming.display_name) == ("\ufffd привет", "Ан\ufffdна")
