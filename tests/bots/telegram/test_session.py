"""JsonAiohttpSession: real aiogram methods, the bodies a Bot API server on 127.0.0.1 receives."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
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


async def serve(handler: Recorder) -> tuple[web.AppRunner, Bot, JsonAiohttpSession]:
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", handler.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api = TelegramAPIServer.from_base(f"http://127.0.0.1:{runner.addresses[0][1]}")
    session = JsonAiohttpSession(api=api, json_dumps=dumps)
    return runner, Bot(TOKEN, session=session), session


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, Bot]]:
    rec = Recorder()
    runner, bot, _session = await serve(rec)
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


class Failing(Recorder):
    """Answers every call with the given Bot API error."""

    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__()
        self.error = {"ok": False, "error_code": status, "description": description}
        if parameters:
            self.error["parameters"] = parameters

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.match_info["method"], request.content_type,
                              await request.read()))
        return web.json_response(self.error, status=int(self.error["error_code"]))


def send_message() -> SendMessage:
    return SendMessage(chat_id=1, text="текст")


async def test_call_json_sends_the_body_as_is_and_returns_plain_json() -> None:
    rec = Recorder()
    runner, bot, session = await serve(rec)
    try:
        built: list[SendMessage] = []

        def method() -> SendMessage:
            built.append(send_message())
            return built[-1]

        body = {"chat_id": 1, "text": "Пособие", "parse_mode": "HTML"}
        result = await session.call_json(bot, "sendMessage", body, method)
    finally:
        await bot.session.close()
        await runner.cleanup()
    assert result == MESSAGE  # a dict, no aiogram model built
    assert built == []  # the method model is only for reading a failure
    [(name, content_type, raw)] = rec.requests
    assert (name, content_type) == ("sendMessage", "application/json")
    assert json.loads(raw) == body and "Пособие".encode() in raw


@pytest.mark.parametrize(("status", "description", "parameters", "error"), [
    (429, "Too Many Requests: retry after 7", {"retry_after": 7}, TelegramRetryAfter),
    (403, "Forbidden: bot was blocked by the user", {}, TelegramForbiddenError),
    (400, "Bad Request: message thread not found", {}, TelegramBadRequest),
    (502, "Bad Gateway", {}, TelegramServerError),
])
async def test_call_json_fails_as_a_call_through_bot_fails(
    status: int, description: str, parameters: dict[str, Any], error: type[Exception]
) -> None:
    runner, bot, session = await serve(Failing(status, description, **parameters))
    try:
        with pytest.raises(error) as through_bot:
            await bot(send_message())
        with pytest.raises(error) as direct:
            await session.call_json(bot, "sendMessage", {"chat_id": 1, "text": "текст"},
                                    send_message)
    finally:
        await bot.session.close()
        await runner.cleanup()
    assert str(direct.value) == str(through_bot.value)
    if isinstance(direct.value, TelegramRetryAfter):
        assert direct.value.retry_after == 7


async def test_call_json_reads_a_garbled_answer_as_aiogram_does() -> None:
    class Garbled(Recorder):
        async def handle(self, request: web.Request) -> web.Response:
            return web.Response(text="<html>gateway</html>", content_type="text/html")

    runner, bot, session = await serve(Garbled())
    try:
        with pytest.raises(ClientDecodeError):
            await session.call_json(bot, "sendMessage", {"chat_id": 1, "text": "т"},
                                    send_message)
    finally:
        await bot.session.close()
        await runner.cleanup()


async def test_call_json_to_an_unreachable_server_is_a_network_error() -> None:
    api = TelegramAPIServer.from_base("http://127.0.0.1:9")
    session = JsonAiohttpSession(api=api, json_dumps=dumps)
    bot = Bot(TOKEN, session=session)
    try:
        with pytest.raises(TelegramNetworkError):
            await session.call_json(bot, "sendMessage", {"chat_id": 1, "text": "т"},
                                    send_message)
    finally:
        await bot.session.close()
