"""Delivery of queued replies to Telegram clients, with the outbox's retry contract."""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    SendAnimation,
    SendAudio,
    SendDocument,
    SendMessage,
    SendPhoto,
    SendSticker,
    SendVideo,
    SendVideoNote,
    SendVoice,
    TelegramMethod,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
)

from bots.files import FileSources, fetch_for_delivery
from bots.telegram.callbacks import CallbackCodec
from bots.telegram.session import JsonAiohttpSession
from bots.text import split_text, utf16_len
from handlers.delivery_ports import DeliveryRefused, DeliveryRetry
from handlers.model import Attachment, AttachmentKind, Button, Reply

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Bot API limit per message, in UTF-16 code units after entity parsing
KEYBOARDS = 1024
MAX_BUTTON_TEXT = 64  # longer labels are cut by Telegram clients anyway
T = TypeVar("T")
CHANNEL = "telegram"
Step = Callable[[], Awaitable[str]]  # the id of the message sent
Keyboard = tuple[InlineKeyboardMarkup, dict[str, Any]] | None  # aiogram's model, its JSON


def keyboard(buttons: tuple[tuple[Button, ...], ...],
             codec: CallbackCodec) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=b.label[:MAX_BUTTON_TEXT],
                              callback_data=codec.encode(b.action)) for b in row]
        for row in buttons])


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


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    """Translates Bot API failures into the outbox's retry/refuse contract."""
    try:
        return await call()
    except TelegramRetryAfter as exc:
        raise DeliveryRetry(f"flood control: {exc.message}", exc.retry_after) from exc
    except (TelegramNetworkError, TelegramServerError) as exc:
        raise DeliveryRetry(f"{type(exc).__name__}: {exc.message}", channel_down=True) from exc
    except TelegramForbiddenError as exc:
        raise DeliveryRefused(exc.message, client_blocked=True) from exc
    except TelegramBadRequest as exc:
        raise DeliveryRefused(exc.message) from exc


class TelegramSender:
    """Sends each part once even when a later part is retried.

    A reply is its text parts, then its files. The parts already sent are remembered in memory
    only: after a restart in the middle of a long answer, the answer is sent whole again
    (at-least-once, like the outbox itself).
    """

    def __init__(self, bot: Bot, codec: CallbackCodec, files: FileSources) -> None:
        self._bot = bot
        self._files = files
        self._sent_parts: dict[str, list[str]] = {}
        # Most replies carry one of a few keyboards (menu, "ask a specialist"): built once.
        self._keyboard = functools.lru_cache(maxsize=KEYBOARDS)(
            functools.partial(_keyboard_with_json, codec=codec))
        if not isinstance(bot.session, JsonAiohttpSession):
            raise TypeError("TelegramSender sends through JsonAiohttpSession "
                            "(bots/telegram/session.py)")
        self._session = bot.session

    async def send(self, address: str, reply: Reply, key: str) -> str:
        chat_id, connection = parse_address(address)
        steps = self._steps(chat_id, connection, reply)
        done = self._sent_parts.setdefault(key, [])
        try:
            for index in range(len(done), len(steps)):
                done.append(await steps[index]())
        except DeliveryRefused:
            self._sent_parts.pop(key, None)  # never retried: forget its progress
            raise
        return self._sent_parts.pop(key)[-1]

    def _steps(self, chat_id: int, connection: str | None, reply: Reply) -> list[Step]:
        parts = parts_of(reply) if reply.text or not reply.attachments else []
        steps: list[Step] = []
        for index, part in enumerate(parts):
            markup = self._keyboard(reply.buttons) if index == len(parts) - 1 else None
            steps.append(functools.partial(self._send_text, chat_id, connection, part, markup))
        for attachment in reply.attachments:
            steps.append(functools.partial(self._send_file, chat_id, connection, attachment))
        return steps

    async def _send_text(self, chat_id: int, connection: str | None, part: str,
                         markup: Keyboard) -> str:
        def method() -> SendMessage:
            return SendMessage(chat_id=chat_id, text=part, parse_mode="HTML",
                               reply_markup=markup[0] if markup else None,
                               business_connection_id=connection)

        # The body is built here, not through aiogram's models (docs/benchmarks.md).
        body: dict[str, Any] = {"chat_id": chat_id, "text": part, "parse_mode": "HTML"}
        if markup:
            body["reply_markup"] = markup[1]
        if connection:
            body["business_connection_id"] = connection
        result = await guarded(
            lambda: self._session.call_json(self._bot, "sendMessage", body, method))
        return str(result["message_id"])

    async def _send_file(self, chat_id: int, connection: str | None,
                         attachment: Attachment) -> str:
        if attachment.source in ("", CHANNEL):
            # The same bot received it: Telegram sends it again by file_id, nothing uploaded.
            file: str | InputFile = attachment.ref
        else:
            data = await fetch_for_delivery(self._files, attachment)
            file = BufferedInputFile(data.content, filename=data.name)
        bc = connection
        call: TelegramMethod[Message]
        match attachment.kind:
            case AttachmentKind.PHOTO:
                call = SendPhoto(chat_id=chat_id, photo=file, business_connection_id=bc)
            case AttachmentKind.VOICE:
                call = SendVoice(chat_id=chat_id, voice=file, business_connection_id=bc)
            case AttachmentKind.VIDEO if attachment.name == "video_note":
                call = SendVideoNote(chat_id=chat_id, video_note=file, business_connection_id=bc)
            case AttachmentKind.VIDEO:
                call = SendVideo(chat_id=chat_id, video=file, business_connection_id=bc)
            # A file_id is refused by a method of another file type: bots/telegram/convert.py
            # names these kinds, which the core only knows as "other".
            case AttachmentKind.OTHER if attachment.name == "animation":
                call = SendAnimation(chat_id=chat_id, animation=file, business_connection_id=bc)
            case AttachmentKind.OTHER if attachment.name == "audio":
                call = SendAudio(chat_id=chat_id, audio=file, business_connection_id=bc)
            case AttachmentKind.STICKER:
                call = SendSticker(chat_id=chat_id, sticker=file, business_connection_id=bc)
            case _:
                call = SendDocument(chat_id=chat_id, document=file, business_connection_id=bc)
        sent: Message = await guarded(lambda: self._bot(call))
        return str(sent.message_id)


def _keyboard_with_json(buttons: tuple[tuple[Button, ...], ...],
                        codec: CallbackCodec) -> Keyboard:
    markup = keyboard(buttons, codec)
    # As aiogram sends it: parameters that are None left out.
    return None if markup is None else (markup, markup.model_dump(exclude_none=True))
