"""JsonAiohttpSession: real aiogram methods, the bodies a Bot API server on 127.0.0.1 receives."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import web

from bots.telegram.session import JsonAiohttpSession, dumps

TOKEN = "42:TEST"
MESSAGE = {"message_id": 7, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "ok"}


class Recorder:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []  # method, content type, body

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.match_info["method"], request.content_type,
                              await request.read()))
        return web.json_response({"ok": True, "result": MESSAGE})


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, Bot]]:
    rec = Recorder()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    api = TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")
    bot = Bot(TOKEN, session=JsonAiohttpSession(api=api, json_dumps=dumps))
    yield rec, bot
    await bot.session.close()
    await runner.cleanup()


async def test_text_goes_as_json_with_cyrillic_unescaped(recorder: tuple[Recorder, Bot]) -> None:
    rec, bot = recorder
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="Задать вопрос специалисту", callback_data="human")]])
    sent = await bot.send_message(1, "Пособие <b>на ребёнка</b>", parse_mode="HTML",
                                  reply_markup=keyboard, disable_notification=False,
                                  message_thread_id=None)
    assert sent.message_id == 7  # the answer is parsed as with the form session
    [(method, content_type, body)] = rec.requests
    assert (method, content_type) == ("sendMessage", "application/json")
    assert "Пособие".encode() in body  # not \u escapes
    params: dict[str, Any] = json.loads(body)
    assert params["chat_id"] == 1 and params["text"] == "Пособие <b>на ребёнка</b>"
    assert params["reply_markup"] == {"inline_keyboard": [[
        {"text": "Задать вопрос специалисту", "callback_data": "human"}]]}
    # Left out as aiogram's form leaves them out.
    assert "disable_notification" not in params and "message_thread_id" not in params


async def test_an_upload_still_goes_as_multipart(recorder: tuple[Recorder, Bot]) -> None:
    rec, bot = recorder
    await bot.send_document(1, BufferedInputFile(b"%PDF-1.4 test", filename="справка.pdf"),
                            caption="Ваш документ")
    [(method, content_type, body)] = rec.requests
    assert (method, content_type) == ("sendDocument", "multipart/form-data")
    assert b"%PDF-1.4 test" in body and "Ваш документ".encode() in body


async def test_an_unreachable_server_is_a_network_error() -> None:
    api = TelegramAPIServer.from_base("http://127.0.0.1:9")  # discard port: refused
    bot = Bot(TOKEN, session=JsonAiohttpSession(api=api, json_dumps=dumps))
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(1, "текст")
    finally:
        await bot.session.close()
