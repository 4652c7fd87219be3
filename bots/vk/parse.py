"""VK's raw JSON (event envelopes, message objects, payloads) into the core's value objects."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from bots.text import to_storable, unix_time
from handlers.model import Action, ActionKind, Attachment, AttachmentKind, Channel, IncomingMessage

# peer_id of a group chat is 2e9 + the chat's number; below that it is a user (or a community).
CHAT_PEER_MIN = 2_000_000_000
MAX_FORWARD_DEPTH = 3  # VK nests forwards up to 45 levels; the first few say enough


class MalformedEvent(ValueError):
    """The body is not a VK event envelope."""


def parse_envelope(body: object) -> dict[str, Any]:
    """Checks the fields every handler relies on; the rest stays as VK sent it."""
    if not isinstance(body, dict):
        raise MalformedEvent(f"expected a JSON object, got {type(body).__name__}")
    kind = body.get("type")
    if not isinstance(kind, str) or not kind:
        raise MalformedEvent("field 'type' must be a non-empty string")
    if "object" in body and not isinstance(body["object"], dict):
        raise MalformedEvent("field 'object' must be an object")
    for name in ("event_id", "secret"):
        if name in body and not isinstance(body[name], str):
            raise MalformedEvent(f"field '{name}' must be a string")
    if "group_id" in body and not isinstance(body["group_id"], int):
        raise MalformedEvent("field 'group_id' must be an integer")
    return body


def event_key(event: Mapping[str, Any]) -> str:
    """VK's event_id; for older Long Poll updates without one, type + peer + message id."""
    event_id = event.get("event_id")
    if isinstance(event_id, str) and event_id:
        return event_id
    obj = event.get("object") or {}
    msg = obj.get("message", obj) if isinstance(obj, dict) else {}
    msg = msg if isinstance(msg, dict) else {}
    if event["type"] == "message_new" and "peer_id" in msg:
        return message_key(msg)
    if event["type"] == "message_event":  # several presses may concern one message
        number = obj.get("event_id", "")
    else:
        number = msg.get("id") or msg.get("conversation_message_id") or ""
    peer = msg.get("peer_id") or obj.get("peer_id") or obj.get("user_id") or ""
    return f"{event['type']}:{peer}:{number}"


def message_key(msg: Mapping[str, Any]) -> str:
    """The same client message under every API version and both ways it reaches us (a live
    event, or messages.getHistory after a gap): the event_id is not in the history, and some
    versions send id 0 where the peer's own number is always there."""
    number = msg.get("conversation_message_id") or msg.get("id") or ""
    return f"message_new:{msg.get('peer_id', '')}:{number}"


def message_number(msg: Mapping[str, Any]) -> int:
    """The number the message is stored under (channel_message_id); 0 when VK gave none."""
    number = msg.get("id") or msg.get("conversation_message_id")
    return number if isinstance(number, int) else 0


def message_of(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The message of a message_new event (API ≥ 5.103 wraps it in object.message)."""
    obj = event.get("object")
    if not isinstance(obj, dict):
        return None
    msg = obj.get("message", obj)
    return msg if isinstance(msg, dict) and isinstance(msg.get("peer_id"), int) else None


def is_chat(peer_id: int) -> bool:
    return peer_id >= CHAT_PEER_MIN


def parse_payload(payload: object) -> Action | None:
    """Our buttons carry {"a": "kind:value"}; VK's own "Начать" button {"command": "start"}."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return None
    if not isinstance(payload, dict):
        return None
    if payload.get("command") == "start":
        return Action(ActionKind.START)
    value = payload.get("a")
    return Action.parse(value) if isinstance(value, str) else None


def to_incoming(msg: Mapping[str, Any]) -> IncomingMessage:
    """A client message from VK's message object (raw JSON or a vkbottle model dump); it is
    deduplicated by the message itself, not by the event that brought it."""
    attachments = tuple(attachments_of(msg, depth=0))
    text = to_storable(str(msg.get("text") or ""))
    if not text.strip():
        # A recognised voice message reads as its transcript, so the FAQ can answer it.
        text = next((a.name for a in attachments if a.kind is AttachmentKind.VOICE), "")
    number = message_number(msg)
    return IncomingMessage(
        channel=Channel.VK, user_id=str(msg["peer_id"]), event_id=message_key(msg), text=text,
        action=parse_payload(msg.get("payload")), attachments=attachments,
        channel_message_id=str(number) if number else "", sent_at=unix_time(msg.get("date")),
    )


def attachments_of(msg: Mapping[str, Any], depth: int) -> Iterator[Attachment]:
    for item in dicts_of(msg.get("attachments")):
        kind = str(item.get("type", ""))
        body = item.get(kind)
        if isinstance(body, dict):
            yield to_attachment(kind, body)
    geo = msg.get("geo")
    if isinstance(geo, dict):
        yield _geo(geo)
    if depth < MAX_FORWARD_DEPTH:
        for fwd in dicts_of(msg.get("fwd_messages")):
            yield from _forwarded(fwd, depth + 1)


def _forwarded(fwd: Mapping[str, Any], depth: int) -> Iterator[Attachment]:
    text = str(fwd.get("text") or "")
    if text:
        yield Attachment(AttachmentKind.OTHER, f"https://vk.com/id{fwd.get('from_id', '')}",
                         name=text[:1000])
    yield from attachments_of(fwd, depth)


def to_attachment(kind: str, body: Mapping[str, Any]) -> Attachment:
    owner_item = f"{body.get('owner_id', '')}_{body.get('id', '')}"
    match kind:
        case "photo":
            return Attachment(AttachmentKind.PHOTO, _largest(body.get("sizes")) or
                              f"https://vk.com/photo{owner_item}")
        case "doc":
            return Attachment(AttachmentKind.DOCUMENT, str(body.get("url") or
                              f"https://vk.com/doc{owner_item}"), str(body.get("title", "")))
        case "audio_message":
            link = body.get("link_mp3") or body.get("link_ogg") or ""
            return Attachment(AttachmentKind.VOICE, str(link),
                              str(body.get("transcript") or "")[:1000])
        case "sticker":
            return Attachment(AttachmentKind.STICKER, _largest(body.get("images")) or
                              f"sticker:{body.get('sticker_id', '')}")
        case "video":
            return Attachment(AttachmentKind.VIDEO, f"https://vk.com/video{owner_item}",
                              str(body.get("title", "")))
        case "wall":
            owner = body.get("owner_id") or body.get("to_id") or body.get("from_id") or ""
            return Attachment(AttachmentKind.OTHER,
                              f"https://vk.com/wall{owner}_{body.get('id', '')}",
                              str(body.get("text") or "")[:1000])
        case "link":
            return Attachment(AttachmentKind.OTHER, str(body.get("url", "")),
                              str(body.get("title", "")))
    return Attachment(AttachmentKind.OTHER, f"https://vk.com/{kind}{owner_item}", kind)


def _geo(geo: Mapping[str, Any]) -> Attachment:
    point = geo.get("coordinates")
    point = point if isinstance(point, dict) else {}
    lat, lon = point.get("latitude", ""), point.get("longitude", "")
    place = geo.get("place")
    return Attachment(AttachmentKind.LOCATION, f"https://yandex.ru/maps/?pt={lon},{lat}&z=16",
                      str(place.get("title", "")) if isinstance(place, dict) else "")


def _largest(images: object) -> str:
    """The URL of the biggest picture among VK's sizes (photo sizes, sticker images)."""
    sized = [i for i in dicts_of(images) if isinstance(i.get("url"), str)]
    if not sized:
        return ""
    best = max(sized, key=lambda i: _number(i.get("width")) * _number(i.get("height")))
    return str(best["url"])


def dicts_of(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _number(value: object) -> int:
    return value if isinstance(value, int) else 0
