"""Client messages from raw update JSON, so that updates aiogram rejects are not lost."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bots.text import to_storable, unix_time
from handlers.model import Attachment, AttachmentKind, Channel, IncomingMessage

# Update fields that carry a message a client wrote to the bot (or to a business account
# connected to it). Edits count as new client messages: a corrected question deserves a
# fresh answer, and the dedupe key includes the edit time, so nothing is stored twice.
CLIENT_MESSAGE_KINDS = ("message", "edited_message", "business_message",
                        "edited_business_message")

# (Telegram field, kind, name): the name tells a staff surface how to resend the file.
_FILES: tuple[tuple[str, AttachmentKind, str], ...] = (
    ("animation", AttachmentKind.OTHER, "animation"),
    ("document", AttachmentKind.DOCUMENT, ""),
    ("voice", AttachmentKind.VOICE, ""),
    ("video", AttachmentKind.VIDEO, ""),
    ("video_note", AttachmentKind.VIDEO, "video_note"),
    ("audio", AttachmentKind.OTHER, "audio"),
    ("sticker", AttachmentKind.STICKER, ""),
)


def update_kind(raw: Mapping[str, Any]) -> str:
    """The update's payload field (message, callback_query, ...), or "unknown"."""
    return next((k for k in raw if k != "update_id"), "unknown")


def chat_of(raw: Mapping[str, Any]) -> str:
    """The chat (or, without one, the user) an update belongs to; "" when it names neither."""
    payload = raw.get(update_kind(raw))
    if not isinstance(payload, Mapping):
        return ""
    chat = payload.get("chat")
    if not isinstance(chat, Mapping) and isinstance(payload.get("message"), Mapping):
        chat = payload["message"].get("chat")  # a button pressed under a message
    if isinstance(chat, Mapping) and _int(chat.get("id")) is not None:
        return f"chat:{chat['id']}"
    sender = payload.get("from", payload.get("user"))
    if isinstance(sender, Mapping) and _int(sender.get("id")) is not None:
        return f"user:{sender['id']}"
    return ""


def client_message_of(raw: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """The kind and message object when the update is a client's private message."""
    kind = update_kind(raw)
    msg = raw.get(kind)
    if kind not in CLIENT_MESSAGE_KINDS or not isinstance(msg, Mapping):
        return None
    chat = msg.get("chat")
    sender = msg.get("from")
    if not isinstance(chat, Mapping) or chat.get("type") != "private":
        return None
    if isinstance(sender, Mapping) and sender.get("is_bot") is True:
        return None
    return (kind, msg) if _int(chat.get("id")) is not None else None


def to_incoming(kind: str, msg: Mapping[str, Any]) -> IncomingMessage:
    """A private message (of any age or shape) as the core's IncomingMessage."""
    chat = msg["chat"]
    sender = msg.get("from") if isinstance(msg.get("from"), Mapping) else chat
    message_id = _int(msg.get("message_id")) or 0
    event_id = f"{address_of(msg)}:{message_id}"
    if kind.startswith("edited_"):
        event_id += f":e{_int(msg.get('edit_date')) or 0}"
    text = msg.get("text") or msg.get("caption") or ""
    album = msg.get("media_group_id")
    return IncomingMessage(
        channel=Channel.TELEGRAM, user_id=address_of(msg), event_id=event_id,
        text=to_storable(text) if isinstance(text, str) else "",
        display_name=to_storable(display_name(sender)),
        attachments=attachments_of(msg), channel_message_id=str(message_id),
        sent_at=unix_time(msg.get("date")),
        album=album if isinstance(album, str) and not kind.startswith("edited_") else "",
    )


def address_of(msg: Mapping[str, Any]) -> str:
    """Where replies go: the chat id, plus the business connection when there is one."""
    chat_id = str(msg["chat"]["id"])
    connection = msg.get("business_connection_id")
    return f"{chat_id}@{connection}" if isinstance(connection, str) and connection else chat_id


def display_name(user: object) -> str:
    if not isinstance(user, Mapping):
        return ""
    parts = (user.get("first_name"), user.get("last_name"))
    return " ".join(p for p in parts if isinstance(p, str) and p).strip()


def attachments_of(msg: Mapping[str, Any]) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    photo = msg.get("photo")
    if isinstance(photo, list) and photo and isinstance(photo[-1], Mapping):
        found.append(Attachment(AttachmentKind.PHOTO, str(photo[-1].get("file_id", ""))))
    for field, kind, name in _FILES:
        obj = msg.get(field)
        if isinstance(obj, Mapping) and obj.get("file_id"):
            found.append(Attachment(kind, str(obj["file_id"]),
                                    name or str(obj.get("file_name") or "")))
            if field == "animation":
                break  # Telegram repeats an animation as a document; keep one
    found.extend(_places_and_contacts(msg))
    return tuple(found)


def _places_and_contacts(msg: Mapping[str, Any]) -> list[Attachment]:
    found = []
    venue = msg.get("venue")
    location = venue.get("location") if isinstance(venue, Mapping) else msg.get("location")
    if isinstance(location, Mapping):
        title = venue.get("title", "") if isinstance(venue, Mapping) else ""
        ref = f"{location.get('latitude')},{location.get('longitude')}"
        found.append(Attachment(AttachmentKind.LOCATION, ref, str(title)))
    contact = msg.get("contact")
    if isinstance(contact, Mapping):
        found.append(Attachment(AttachmentKind.CONTACT, str(contact.get("phone_number", "")),
                                display_name(contact)))
    return found


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
