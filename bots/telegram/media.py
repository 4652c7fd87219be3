"""Shows a client's attachment to specialists by resending its file_id (no download)."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import Message

from handlers.model import Attachment, AttachmentKind


async def resend(bot: Bot, chat_id: int, topic: int | None, a: Attachment) -> Message | None:
    """file_ids are valid for the bot that received them, in any chat it can post to."""
    match a.kind:
        case AttachmentKind.PHOTO:
            return await bot.send_photo(chat_id, a.ref, message_thread_id=topic)
        case AttachmentKind.DOCUMENT:
            return await bot.send_document(chat_id, a.ref, message_thread_id=topic)
        case AttachmentKind.VOICE:
            return await bot.send_voice(chat_id, a.ref, message_thread_id=topic)
        case AttachmentKind.VIDEO if a.name == "video_note":
            return await bot.send_video_note(chat_id, a.ref, message_thread_id=topic)
        case AttachmentKind.VIDEO:
            return await bot.send_video(chat_id, a.ref, message_thread_id=topic)
        case AttachmentKind.STICKER:
            return await bot.send_sticker(chat_id, a.ref, message_thread_id=topic)
        case AttachmentKind.OTHER if a.name == "audio":
            return await bot.send_audio(chat_id, a.ref, message_thread_id=topic)
        case AttachmentKind.OTHER if a.name == "animation":
            return await bot.send_animation(chat_id, a.ref, message_thread_id=topic)
        case AttachmentKind.LOCATION:
            latitude, _, longitude = a.ref.partition(",")
            return await bot.send_location(chat_id, float(latitude), float(longitude),
                                           message_thread_id=topic)
        case AttachmentKind.CONTACT:
            return await bot.send_contact(chat_id, a.ref, a.name or "—", message_thread_id=topic)
        case _:
            return None
