"""Delivery of queued replies to Telegram clients, with the outbox's retry contract."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable
from typing import TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bots.telegram.callbacks import CallbackCodec
from bots.text import split_text, utf16_len
from handlers.model import Reply
from handlers.ports import DeliveryRefused, DeliveryRetry

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Bot API limit per message, in UTF-16 code units after entity parsing
MAX_BUTTON_TEXT = 64  # longer labels are cut by Telegram clients anyway
T = TypeVar("T")


def keyboard(reply: Reply, codec: CallbackCodec) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.label[:MAX_BUTTON_TEXT],
                              callback_data=codec.encode(b.action)) for b in row]
        for row in reply.buttons])


def parts_of(reply: Reply) -> list[str]:
    """HTML parts; the text is split before escaping, since the limit counts visible text."""
    return [html.escape(p, quote=False) for p in split_text(reply.text, MAX_TEXT, utf16_len)]


def parse_address(address: str) -> tuple[int, str | None]:
    """"<chat_id>" or "<chat_id>@<business_connection_id>"."""
    chat, _, connection = address.partition("@")
    try:
        return int(chat), connection or None
    except ValueError:
        raise DeliveryRefused(f"not a Telegram chat id: {address!r}") from None


async def guarded(call: Awaitable[T]) -> T:
    """Translates Bot API failures into the outbox's retry/refuse contract."""
    try:
        return await call
    except TelegramRetryAfter as exc:
        raise DeliveryRetry(f"flood control: {exc.message}", exc.retry_after) from exc
    except (TelegramNetworkError, TelegramServerError) as exc:
        raise DeliveryRetry(f"{type(exc).__name__}: {exc.message}") from exc
    except TelegramForbiddenError as exc:
        raise DeliveryRefused(exc.message, client_blocked=True) from exc
    except TelegramBadRequest as exc:
        raise DeliveryRefused(exc.message) from exc


class TelegramSender:
    """Sends each part once even when a later part is retried.

    The parts already sent are remembered in memory only: after a restart in the middle of a
    long answer, the answer is sent whole again (at-least-once, like the outbox itself).
    """

    def __init__(self, bot: Bot, codec: CallbackCodec) -> None:
        self._bot = bot
        self._codec = codec
        self._sent_parts: dict[str, list[str]] = {}

    async def send(self, address: str, reply: Reply, key: str) -> str:
        chat_id, connection = parse_address(address)
        parts = parts_of(reply)
        done = self._sent_parts.setdefault(key, [])
        try:
            for index in range(len(done), len(parts)):
                markup = keyboard(reply, self._codec) if index == len(parts) - 1 else None
                sent = await guarded(self._bot.send_message(
                    chat_id, parts[index], parse_mode="HTML", reply_markup=markup,
                    business_connection_id=connection))
                done.append(str(sent.message_id))
        except DeliveryRefused:
            self._sent_parts.pop(key, None)  # never retried: forget its progress
            raise
        return self._sent_parts.pop(key)[-1]
