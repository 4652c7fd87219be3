"""Keyboards a client's VK app can show (client_info), and long questions cut on buttons."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bots.vk.keyboard import app_of, to_keyboard
from handlers.model import Action, ActionKind, Button, ClientApp
from storage.models import Client, Message
from tests.bots.vk.conftest import SECRET, World, started, until
from tests.bots.vk.fake_vk import FULL_CLIENT, FakeVk, message_new

USER = 100000001
CAPITAL = "Как получить областной материнский капитал?"  # 43 characters: cut on a button


def kinds(keyboard: str | None) -> tuple[bool, set[str]]:
    body = json.loads(keyboard or "")
    return body["inline"], {b["action"]["type"] for row in body["buttons"] for b in row}


def test_support_follows_client_info() -> None:
    rows = ((Button("Да", Action(ActionKind.CONSENT)),),
            (Button("Меню", Action(ActionKind.MENU)),))
    assert kinds(to_keyboard(rows, app_of(FULL_CLIENT))) == (True, {"callback"})
    no_callback = {**FULL_CLIENT, "button_actions": ["text", "open_link"]}
    assert kinds(to_keyboard(rows, app_of(no_callback))) == (True, {"text"})
    no_inline = {**FULL_CLIENT, "inline_keyboard": False}
    assert kinds(to_keyboard(rows, app_of(no_inline))) == (False, {"text"})
    assert json.loads(to_keyboard(rows, app_of(no_inline)) or "")["one_time"] is True
    assert to_keyboard(rows, app_of({**FULL_CLIENT, "keyboard": False})) is None
    assert app_of(None) == app_of({}) == app_of({"lang_id": 0}) == ClientApp()


async def choose_family(w: World, info: dict[str, Any], number: int) -> dict[str, str]:
    body = message_new(USER, "Семьи с детьми", number, {"a": "category:family"}, SECRET, info)
    assert await w.post(body) == (200, "ok")
    await until(lambda: len(w.fake.delivered) == number)
    return w.fake.delivered[-1]


@pytest.mark.parametrize(("info", "inline", "types"), [
    ({**FULL_CLIENT, "inline_keyboard": False, "button_actions": ["text"]}, False, {"text"}),
    ({**FULL_CLIENT, "button_actions": ["text"]}, True, {"text"}),
    (FULL_CLIENT, True, {"callback"}),
])
async def test_replies_use_the_keyboards_the_client_has(
        callback: World, info: dict[str, Any], inline: bool, types: set[str]) -> None:
    sent = await choose_family(callback, info, 1)
    assert kinds(sent["keyboard"]) == (inline, types)
    labels = [b["action"]["label"] for row in json.loads(sent["keyboard"])["buttons"]
              for b in row]
    assert "Как получить областной материнский капи…" in labels
    # The cut question reads in full in the text, numbered, and its number picks it.
    assert f"2. {CAPITAL}" in sent["message"]
    assert await callback.post(message_new(USER, "2", 2, secret=SECRET,
                                           client_info=info)) == (200, "ok")
    await until(lambda: len(callback.fake.delivered) == 2)
    assert callback.fake.texts()[1].startswith("Заявление подают")


async def test_a_client_without_keyboards_gets_numbered_text(callback: World) -> None:
    info = {**FULL_CLIENT, "keyboard": False, "inline_keyboard": False}
    sent = await choose_family(callback, info, 1)
    assert "keyboard" not in sent
    assert "1. Как оформить единое пособие?" in sent["message"]
    assert f"2. {CAPITAL}" in sent["message"]
    # The next client's app shows everything: their reply has its inline keyboard.
    other = message_new(USER + 1, "Семьи с детьми", 2, {"a": "category:family"}, SECRET)
    assert await callback.post(other) == (200, "ok")
    await until(lambda: len(callback.fake.delivered) == 2)
    assert kinds(callback.fake.delivered[1]["keyboard"]) == (True, {"callback"})


NO_KEYBOARD = [{**FULL_CLIENT, "keyboard": False, "inline_keyboard": False},
               {**FULL_CLIENT, "button_actions": []}]


@pytest.mark.parametrize("info", NO_KEYBOARD, ids=["keyboard false", "no button actions"])
async def test_a_client_without_buttons_is_told_what_to_type(
        callback: World, info: dict[str, Any]) -> None:
    assert await callback.post(message_new(USER, "Как получить?", 1, secret=SECRET,
                                           client_info=info)) == (200, "ok")
    await until(lambda: len(callback.fake.delivered) == 1)
    clarify = callback.fake.delivered[0]
    assert "keyboard" not in clarify
    assert "Нажмите" not in clarify["message"] and "кнопк" not in clarify["message"]
    assert "Напишите номер подходящего вопроса" in clarify["message"]
    # Asked for a person, they are told to type their agreement, and typing it works.
    assert await callback.post(message_new(USER, "позовите специалиста", 2, secret=SECRET,
                                           client_info=info)) == (200, "ok")
    await until(lambda: len(callback.fake.delivered) == 2)
    notice = callback.fake.texts()[1]
    assert "Нажмите" not in notice and "Напишите «согласен» или «согласна»" in notice
    assert await callback.post(message_new(USER, "согласна", 3, secret=SECRET,
                                           client_info=info)) == (200, "ok")
    await callback.settled(kept=3)
    assert (await callback.conversation()).state == "waiting_specialist"
    # The desk, the transcript and the topic show what the client read, not «Нажмите».
    stored = [m.text for m in await callback.rows(Message, Message.author == "bot")]
    assert stored[:2] == callback.fake.texts()[:2]


async def test_a_client_with_buttons_is_told_to_press_them(callback: World) -> None:
    assert await callback.post(message_new(USER, "позовите специалиста", 1,
                                           secret=SECRET)) == (200, "ok")
    await until(lambda: len(callback.fake.delivered) == 1)
    assert "Нажмите «Согласен(на)»" in callback.fake.texts()[0]


@pytest.mark.parametrize("info", NO_KEYBOARD, ids=["keyboard false", "no button actions"])
async def test_the_rating_after_a_desk_close_is_asked_in_words(
        callback: World, info: dict[str, Any]) -> None:
    for number, text in enumerate(("позовите специалиста", "согласна"), 1):
        assert await callback.post(message_new(USER, text, number, secret=SECRET,
                                               client_info=info)) == (200, "ok")
        await until(lambda n=number: len(callback.fake.delivered) == n)
    conv = (await callback.conversation()).id
    assert await callback.rt.desk.reply(conv, None, "Справку выдают в МФЦ.", origin="desk")
    assert await callback.rt.desk.close(conv, origin="desk")
    await until(lambda: len(callback.fake.delivered) == 4)
    closing = callback.fake.delivered[3]
    assert "keyboard" not in closing
    assert "напишите цифру от 1 (плохо) до 5 (отлично)" in closing["message"]
    # One text: the desk, which does not know what the app shows, stores what was sent.
    [*_, stored] = await callback.rows(Message, Message.author == "bot")
    assert stored.text == closing["message"]


def unsaid(body: dict[str, Any]) -> dict[str, Any]:
    """A message_new without client_info, as the catch-up builds them."""
    del body["object"]["client_info"]
    return body


async def test_an_app_without_buttons_is_remembered_after_a_restart(
        database_url: str, fake: FakeVk) -> None:
    info = NO_KEYBOARD[0]
    async with started(database_url, fake, "callback") as w:
        for number, text in enumerate(("позовите специалиста", "согласна"), 1):
            assert await w.post(message_new(USER, text, number, secret=SECRET,
                                            client_info=info)) == (200, "ok")
            await until(lambda n=number: len(fake.delivered) == n)
        await w.settled(kept=2)  # nothing left for the next process to send
        [client] = await w.rows(Client)
        assert client.app_lacks == "keyboard,inline"
    # A new process on the same database (or another replica): the desk closes it.
    async with started(database_url, fake, "callback") as w:
        conv = (await w.conversation()).id
        assert await w.rt.desk.reply(conv, None, "Справку выдают в МФЦ.", origin="desk")
        assert await w.rt.desk.close(conv, origin="desk")
        await until(lambda: len(fake.delivered) == 4)
        closing = fake.delivered[3]
        assert "keyboard" not in closing
        assert "напишите цифру от 1 (плохо) до 5 (отлично)" in closing["message"]


async def test_a_message_that_does_not_say_keeps_the_app_stored(
        database_url: str, fake: FakeVk) -> None:
    info = NO_KEYBOARD[1]
    async with started(database_url, fake, "callback") as w:
        assert await w.post(message_new(USER, "Привет", 1, secret=SECRET,
                                        client_info=info)) == (200, "ok")
        await w.settled(kept=1)
    async with started(database_url, fake, "callback") as w:
        assert await w.post(unsaid(message_new(USER, "Как получить?", 2,
                                               secret=SECRET))) == (200, "ok")
        await until(lambda: len(fake.delivered) == 2)
        clarify = fake.delivered[1]
        assert "keyboard" not in clarify
        assert "Напишите номер подходящего вопроса" in clarify["message"]
        # A newer app says it shows buttons: stored, and the next reply has them.
        assert await w.post(message_new(USER, "Как получить?", 3,
                                        secret=SECRET)) == (200, "ok")
        await until(lambda: len(fake.delivered) == 3)
        assert kinds(fake.delivered[2]["keyboard"]) == (True, {"callback"})
        assert [c.app_lacks for c in await w.rows(Client)] == [""]
