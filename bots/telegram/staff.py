"""Specialists' side: messages in a conversation's topic reach the client via the desk."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from aiogram import Bot, Router
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, User

from bots.telegram.config import TelegramConfig
from bots.telegram.convert import attachments_of
from bots.telegram.topics import TAG, Thread, tag_of
from handlers.desk import NOTE_PREFIX, SpecialistDesk, note_of
from handlers.ports import Texts
from handlers.staff_ports import StaffDirectory, StaffThreads

log = logging.getLogger(__name__)

ORIGIN = "telegram"


async def conversation_of(message: Message, threads: StaffThreads) -> int | None:
    """The topic names the conversation; without topics, the tag in the replied-to message."""
    if message.is_topic_message and message.message_thread_id:
        thread = Thread(message.chat.id, message.message_thread_id)
        return await threads.conversation_of(str(thread))
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return None
    cid = tag_of(replied.text or replied.caption or "")
    if cid is None or not (await threads.thread_of(cid)).startswith(f"tg:{message.chat.id}:"):
        return None
    return cid


def specialist_of(message: Message, config: TelegramConfig) -> User | None:
    """The sender, when they count as a specialist (telegram.specialist_ids, or anyone)."""
    user = message.from_user
    if user is None or user.is_bot:
        return None
    if config.specialist_ids and user.id not in config.specialist_ids:
        return None
    return user


async def on_staff_message(
    message: Message, bot: Bot, config: TelegramConfig, desk: SpecialistDesk,
    threads: StaffThreads, staff: StaffDirectory, texts: Texts, queue_titles: Mapping[str, str],
) -> None:
    user = specialist_of(message, config)
    if user is None:
        return
    cid = await conversation_of(message, threads)
    if cid is None:
        return  # chatter between specialists: never answered
    specialist_id = await staff.ensure(f"telegram:{user.id}", user.full_name)
    problem = await act(message, cid, specialist_id, desk)
    if problem:
        # A refused /transfer names the queue asked for and lists the valid ones.
        asked = (message.text or "").partition(" ")[2].strip()
        text = texts.render("staff_not_sent", reason=problem, asked=asked,
                            queue=queue_titles.get(asked, asked), queues=queue_titles)
        if not message.message_thread_id or not message.is_topic_message:
            text = f"{TAG.format(cid)}\n{text}"
        await bot.send_message(message.chat.id, text, reply_to_message_id=message.message_id,
                               message_thread_id=message.message_thread_id
                               if message.is_topic_message else None)


async def on_staff_edit(
    message: Message, config: TelegramConfig, desk: SpecialistDesk, threads: StaffThreads,
    staff: StaffDirectory, texts: Texts,
) -> None:
    """A specialist corrected a reply: the client gets the corrected text as a new message.

    Telegram cannot edit the copy the client already has in another channel, so the
    correction is sent, marked as one (template staff_correction). Edited commands and notes
    change nothing.
    """
    user = specialist_of(message, config)
    if user is None:
        return
    text = (message.text or message.caption or "").strip()
    if not text or text.startswith((NOTE_PREFIX, "/")):
        return
    cid = await conversation_of(message, threads)
    if cid is None:
        return
    specialist_id = await staff.ensure(f"telegram:{user.id}", user.full_name)
    stamp: object = message.edit_date  # a datetime, or the raw Unix time in some paths
    edited = int(stamp.timestamp()) if isinstance(stamp, datetime) else int(str(stamp or 0))
    key = f"telegram:{message.chat.id}:{message.message_id}:e{edited}"
    await desk.reply(cid, specialist_id, texts.render("staff_correction", text=text),
                     origin=ORIGIN, dedupe_key=key)


async def act(message: Message, cid: int, specialist_id: int, desk: SpecialistDesk) -> str:
    """Carries out a specialist's message; returns what went wrong, or "" when all went well."""
    text = (message.text or message.caption or "").strip()
    command, _, argument = text.partition(" ")
    match command.split("@", 1)[0].lower():
        case "/close":
            await desk.close(cid, origin=ORIGIN)
        case "/take":
            await desk.take(cid, specialist_id)
        case "/transfer":
            if not argument.strip():
                return "transfer_usage"
            if not await desk.transfer(cid, argument.strip(), specialist_id):
                return await desk.why_not_transferred(cid, argument.strip())
        case _ if (note := note_of(text)) is not None:
            await desk.note(cid, specialist_id, note, origin=ORIGIN)
        case _:
            return await relay(message, cid, specialist_id, text, desk)
    return ""


async def relay(message: Message, cid: int, specialist_id: int, text: str,
                desk: SpecialistDesk) -> str:
    """The specialist's text and files go to the client, in whatever channel they wrote from."""
    found = attachments_of(message.model_dump(mode="json", exclude_none=True))
    # The files stay on Telegram's servers: other channels fetch them by file_id.
    files = tuple(replace(a, source=ORIGIN) for a in found if a.is_file)
    if not text and not files:
        return "attachment"  # a location or a contact alone: nothing a client can receive
    key = f"telegram:{message.chat.id}:{message.message_id}"
    if not await desk.reply(cid, specialist_id, text, origin=ORIGIN, dedupe_key=key,
                            attachments=files):
        return await desk.why_not_sent(cid, specialist_id)
    return "attachment" if len(files) < len(found) else ""


async def swallow(event: Message | CallbackQuery) -> None:
    """Catches everything in groups, so no router below ever answers it with an FAQ."""


def build_staff_router(chat_id: int | None) -> Router:
    """Specialists' group first; then a catch-all for every other non-private chat."""
    router = Router(name="telegram-staff")
    if chat_id is not None:
        async def in_staff_chat(event: Message) -> bool:
            return event.chat.id == chat_id

        router.message.register(on_staff_message, in_staff_chat)
        router.edited_message.register(on_staff_edit, in_staff_chat)
    router.message.register(swallow, in_a_group)
    router.edited_message.register(swallow, in_a_group)
    return router


async def in_a_group(event: Message) -> bool:
    # Filters are coroutines: aiogram runs plain callables (MagicFilter too) in a thread.
    return event.chat.type != ChatType.PRIVATE
