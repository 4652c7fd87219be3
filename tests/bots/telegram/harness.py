"""Builds the whole service around the Telegram plugin and speaks the Bot API to it."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient

from bots.telegram.plugin import SECRET_HEADER
from tests.bots.telegram.fake_bot_api import FakeBotApi

TOKEN = "123456:TEST-token"
SECRET = "s3cret-token_value"
STAFF_CHAT = -1001000000003
SPECIALIST = 100000009
CLIENT = 100000001


def telegram_settings(api_url: str, mode: str = "webhook", **extra: Any) -> dict[str, Any]:
    return {"enabled": True, "token": TOKEN, "mode": mode, "api_server": api_url,
            "webhook_url": "https://bot.example.org/telegram/webhook",
            "webhook_secret": SECRET, "specialists_chat_id": STAFF_CHAT, **extra}


@dataclass
class Harness:
    api: FakeBotApi
    http: TestClient | None = None
    # Waits until the service has processed what it accepted (the webhook answers first).
    settle: Callable[[], Awaitable[None]] | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(600000001))
    _messages: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def update(self, **payload: Any) -> dict[str, Any]:
        return {"update_id": next(self._ids), **payload}

    def message(self, chat: dict[str, Any], sender: dict[str, Any], **fields: Any
                ) -> dict[str, Any]:
        return {"message_id": next(self._messages), "date": int(time.time()), "chat": chat,
                "from": sender, **fields}

    def private(self, text: str = "", user: int = CLIENT, **fields: Any) -> dict[str, Any]:
        person = {"id": user, "is_bot": False, "first_name": "Анна", "last_name": "Петрова"}
        chat = {"id": user, "type": "private", "first_name": "Анна"}
        body = {"text": text} if text else {}
        return self.update(message=self.message(chat, person, **body, **fields))

    def button(self, data: str, user: int = CLIENT, label: str = "") -> dict[str, Any]:
        person = {"id": user, "is_bot": False, "first_name": "Анна", "last_name": "Петрова"}
        chat = {"id": user, "type": "private", "first_name": "Анна"}
        markup = {"reply_markup": {"inline_keyboard": [[{"text": label, "callback_data": data}]]}
                  } if label else {}
        shown = self.message(chat, {"id": 7000000001, "is_bot": True, "first_name": "Бот"},
                             text="меню", **markup)
        return self.update(callback_query={"id": f"cq{next(self._ids)}", "from": person,
                                           "chat_instance": "42", "data": data,
                                           "message": shown})

    def staff(self, text: str, topic: int | None = None, user: int = SPECIALIST,
              reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        person = {"id": user, "is_bot": False, "first_name": "Мария", "last_name": "Иванова"}
        chat = {"id": STAFF_CHAT, "type": "supergroup", "title": "Специалисты",
                "is_forum": topic is not None}
        fields: dict[str, Any] = {"text": text}
        if topic is not None:
            fields |= {"message_thread_id": topic, "is_topic_message": True}
        if reply_to is not None:
            fields["reply_to_message"] = reply_to
        return self.update(message=self.message(chat, person, **fields))

    async def post(self, update: dict[str, Any] | str, secret: str = SECRET) -> int:
        assert self.http is not None
        data = update if isinstance(update, str) else __import__("json").dumps(update)
        response = await self.http.post("/telegram/webhook", data=data,
                                        headers={SECRET_HEADER: secret,
                                                 "Content-Type": "application/json"})
        if self.settle is not None:
            await self.settle()
        return response.status


async def wait_for(check: Callable[[], Any], seconds: float = 5.0) -> Any:
    """Polls a condition the background outbox will make true; bounded."""
    for _ in range(int(seconds / 0.02)):
        result = check()
        if result:
            return result
        await asyncio.sleep(0.02)
    raise AssertionError(f"condition not met within {seconds} s")
