"""Keyboards within VK's limits, and VK's JSON into IncomingMessage, without network."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bots.vk.keyboard import to_keyboard, to_label
from bots.vk.parse import (
    MalformedEvent,
    event_key,
    message_key,
    message_number,
    message_of,
    parse_envelope,
    parse_payload,
    to_incoming,
)
from handlers.model import Action, ActionKind, AttachmentKind, Button
from handlers.replies import ReplyBuilder
from handlers.texts import JinjaTexts
from tests.fakes import FakeFaq


def buttons(rows: int, per_row: int = 1) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(Button(f"Кнопка {r}.{c}", Action(ActionKind.ENTRY, f"e{r}.{c}"))
                       for c in range(per_row)) for r in range(rows))


def layout(keyboard: str | None) -> tuple[bool, list[int]]:
    assert keyboard is not None
    body = json.loads(keyboard)
    return body["inline"], [len(row) for row in body["buttons"]]


def test_label_is_cut_to_40_characters_with_an_ellipsis() -> None:
    assert to_label("Как получить областной материнский капитал?") == \
        "Как получить областной материнский капи…"
    assert len(to_label("я" * 100)) == 40
    assert to_label("Меню") == "Меню"


def test_small_keyboard_is_inline_with_callback_buttons() -> None:
    keyboard = to_keyboard(buttons(3))
    assert layout(keyboard) == (True, [1, 1, 1])
    action = json.loads(keyboard or "")["buttons"][0][0]["action"]
    assert action["type"] == "callback"
    assert json.loads(action["payload"]) == {"a": "entry:e0.0"}


@pytest.mark.parametrize(("rows", "per_row", "expected"), [
    (6, 1, (True, [1] * 6)),
    (7, 1, (False, [1] * 7)),  # over 6 rows: a regular keyboard
    (2, 6, (True, [5, 5])),  # over 5 across: cut to 5
    (11, 1, (False, [2] * 5 + [1])),  # over 10 rows: packed side by side
    (45, 1, (False, [4] * 10)),  # over 40 buttons: cut
])
def test_keyboard_limits(rows: int, per_row: int, expected: tuple[bool, list[int]]) -> None:
    assert layout(to_keyboard(buttons(rows, per_row))) == expected


def test_regular_keyboard_uses_text_buttons_once() -> None:
    body = json.loads(to_keyboard(buttons(8)) or "")
    assert body["one_time"] is True
    assert {b["action"]["type"] for row in body["buttons"] for b in row} == {"text"}


def test_payload_over_255_bytes_drops_the_button() -> None:
    long = Button("Длинная", Action(ActionKind.ENTRY, "я" * 150))
    body = json.loads(to_keyboard(((long,), (Button("Меню", Action(ActionKind.MENU)),))) or "")
    assert [b["action"]["label"] for row in body["buttons"] for b in row] == ["Меню"]


def test_every_core_reply_fits_vk() -> None:
    builder = ReplyBuilder(JinjaTexts(), FakeFaq())
    replies = [builder.greeting(True), builder.greeting(False), builder.menu(),
               builder.category("family"), builder.ask_rating(), builder.forget_confirm(),
               builder.consent_notice(True)]
    for reply in replies:
        body = json.loads(to_keyboard(reply.buttons) or "")
        labels = [b["action"] for row in body["buttons"] for b in row]
        assert sum(len(r) for r in reply.buttons) == len(labels)
        assert all(len(a["label"]) <= 40 and len(a["payload"].encode()) <= 255 for a in labels)
    assert to_keyboard(()) is None


def test_payloads_of_our_buttons_and_of_vk_start() -> None:
    assert parse_payload('{"command":"start"}') == Action(ActionKind.START)
    assert parse_payload({"a": "rate:5"}) == Action(ActionKind.RATE, "5")
    assert parse_payload('{"a": "category:family@1"}') == Action(ActionKind.CATEGORY,
                                                                  "family@1")
    for foreign in ('{"action": "rate"}', "not json", "[1]", {"a": 5}, None,
                    '{"a": "unknown:x"}'):
        assert parse_payload(foreign) is None


@pytest.mark.parametrize("body", [[1], "text", {"type": ""}, {"type": None},
                                  {"type": "x", "object": "y"}, {"type": "x", "secret": 1}])
def test_malformed_envelopes_are_refused(body: object) -> None:
    with pytest.raises(MalformedEvent):
        parse_envelope(body)


def test_event_key_without_event_id() -> None:
    assert event_key({"type": "message_new", "event_id": "abc"}) == "abc"
    update = {"type": "message_new", "object": {"message": {"peer_id": 5, "id": 0,
                                                            "conversation_message_id": 9}}}
    assert event_key(update) == "message_new:5:9"
    assert event_key({"type": "message_deny", "object": {"user_id": 3}}) == "message_deny:3:"
    press = {"type": "message_event", "object": {"user_id": 5, "peer_id": 5,
                                                 "event_id": "p1", "conversation_message_id": 9}}
    assert event_key(press) == "message_event:5:p1"


def test_a_message_has_one_key_however_it_arrives() -> None:
    live = {"type": "message_new", "event_id": "e1", "object": {"message": {
        "peer_id": 5, "id": 0, "conversation_message_id": 9, "text": "Добрый день"}}}
    from_history = {"peer_id": 5, "id": 4321, "conversation_message_id": 9, "text": "Добрый день"}
    caught_up = {"type": "message_new", "object": {"message": from_history}}
    live_message = message_of(live)
    assert live_message is not None
    assert message_key(live_message) == message_key(from_history) == "message_new:5:9"
    assert to_incoming(live_message).event_id == to_incoming(from_history).event_id
    assert event_key(caught_up) == "message_new:5:9"  # its raw body is kept under it too
    assert (message_number(from_history), message_number(live_message)) == (4321, 9)


def test_message_with_everything_the_specialist_needs() -> None:
    msg = {"peer_id": 7, "from_id": 7, "id": 12, "text": "",
           "attachments": [
               {"type": "photo", "photo": {"sizes": [
                   {"url": "https://x/s.jpg", "width": 75, "height": 75},
                   {"url": "https://x/w.jpg", "width": 2560, "height": 1440},
                   {"url": "https://x/m.jpg", "width": 130, "height": 130}]}},
               {"type": "audio_message", "audio_message": {
                   "link_mp3": "https://x/v.mp3", "transcript": "Нужна справка"}},
               {"type": "poll", "poll": {"owner_id": 1, "id": 2}},
               {"type": "broken"}, "junk"],
           "geo": {"coordinates": {"latitude": 56.8, "longitude": 60.6}}}
    incoming = to_incoming(msg)
    assert (incoming.user_id, incoming.event_id, incoming.channel_message_id) == (
        "7", "message_new:7:12", "12")
    assert incoming.text == "Нужна справка"
    assert [(a.kind, a.ref) for a in incoming.attachments] == [
        (AttachmentKind.PHOTO, "https://x/w.jpg"),
        (AttachmentKind.VOICE, "https://x/v.mp3"),
        (AttachmentKind.OTHER, "https://vk.com/poll1_2"),
        (AttachmentKind.LOCATION, "https://yandex.ru/maps/?pt=60.6,56.8&z=16"),
    ]


def test_importing_the_adapter_keeps_the_warning_display_and_logging() -> None:
    code = ("import logging, warnings; shown = warnings.showwarning; import bots.vk.plugin; "
            "assert warnings.showwarning is shown, warnings.showwarning; "
            "assert not logging.getLogger('vkbottle').handlers")
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_lone_surrogate_in_text_is_replaced() -> None:
    msg = json.loads('{"peer_id": 7, "id": 3, "text": "\\ud800 привет"}')
    assert to_incoming(msg).text == "\ufffd привет"
