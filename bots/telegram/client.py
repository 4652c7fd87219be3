"""Client side: private messages and button presses go to the core as IncomingMessage.

Private messages are read from the raw update JSON (bots/telegram/intake.py hands them here
without aiogram's dispatcher), so that one converter serves every shape, those aiogram's
models reject included; button presses and membership changes come through the dispatcher.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Router
from aiogram.enums import ChatMemberStatus, ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, ChatMemberUpdated

from bots.telegram.callbacks import CallbackCodec
from handlers.model import Action, ActionKind, Channel, IncomingMessage
from handlers.ports import ConversationStore
from handlers.reception import Reception

log = logging.getLogger(__name__)


async def on_button(query: CallbackQuery, reception: Reception, codec: CallbackCodec) -> None:
    # Answered first: the client's button spinner stops at once, whatever happens next.
    with contextlib.suppress(TelegramAPIError):
        await query.answer()
    message = query.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return
    action = codec.decode(query.data or "")
    # A long entry id travels hashed: one since renamed decodes to nothing. Its button's label
    # (the entry's question) is then read as if the client had typed it, and matched again.
    label = "" if action is not None else pressed_label(query)
    user = query.from_user
    await reception.handle(IncomingMessage(
        Channel.TELEGRAM, str(message.chat.id), f"cb:{query.id}", text=label,
        display_name=user.full_name,
        action=None if label else action or Action(ActionKind.MENU)))


def pressed_label(query: CallbackQuery) -> str:
    """The label of the button pressed, when the message is still shown with its keyboard."""
    markup = getattr(query.message, "reply_markup", None)
    rows = markup.inline_keyboard if markup is not None else []
    return next((b.text for row in rows for b in row if b.callback_data == query.data), "")


async def on_membership(update: ChatMemberUpdated, store: ConversationStore,
                        clock: Callable[[], datetime]) -> None:
    """A client blocked the bot (kicked) or started it again: remembered for the desk."""
    status = update.new_chat_member.status
    log.info("telegram chat %s: bot is now %s", update.chat.id, status)
    if update.chat.type == ChatType.PRIVATE:
        await store.set_blocked(Channel.TELEGRAM, str(update.chat.id),
                                status == ChatMemberStatus.KICKED, clock())


def build_client_router() -> Router:
    """A fresh router per Dispatcher: an aiogram Router can join only one."""
    router = Router(name="telegram-clients")
    router.callback_query.register(on_button)
    router.my_chat_member.register(on_membership)
    return router
