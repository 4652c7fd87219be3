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
    action = codec.decode(query.data or "") or Action(ActionKind.MENU)
    user = query.from_user
    await reception.handle(IncomingMessage(
        Channel.TELEGRAM, str(message.chat.id), f"cb:{query.id}",
        display_name=user.full_name, action=action))


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
