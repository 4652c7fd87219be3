"""Conversions between the core's value objects and JSON columns."""

from __future__ import annotations

from typing import Any

from handlers.model import (
    ALL_BUTTONS,
    Action,
    Attachment,
    AttachmentKind,
    Button,
    ClientApp,
    Reply,
)

# clients.app_lacks names what the client's app does not show, so that "" is everything: the
# default for clients whose app never said, and for every channel but VK.
_LACKS = ("keyboard", "inline", "callback")


def to_app_lacks(app: ClientApp) -> str:
    return ",".join(name for name in _LACKS if not getattr(app, name))


def parse_app(lacks: str | None) -> ClientApp:
    if not lacks:
        return ALL_BUTTONS
    names = set(lacks.split(","))
    return ClientApp(**{name: name not in names for name in _LACKS})


def to_buttons_json(rows: tuple[tuple[Button, ...], ...]) -> list[list[dict[str, str]]]:
    return [[{"label": b.label, "action": b.action.to_payload()} for b in row] for row in rows]


def parse_buttons(data: object) -> tuple[tuple[Button, ...], ...]:
    rows: list[tuple[Button, ...]] = []
    for row in data if isinstance(data, list) else []:
        buttons = []
        for item in row if isinstance(row, list) else []:
            action = Action.parse(str(item.get("action", ""))) if isinstance(item, dict) else None
            if action is not None:
                buttons.append(Button(str(item.get("label", "")), action))
        if buttons:
            rows.append(tuple(buttons))
    return tuple(rows)


def to_attachments_json(attachments: tuple[Attachment, ...]) -> list[dict[str, str]]:
    found = []
    for a in attachments:
        item = {"kind": str(a.kind), "ref": a.ref, "name": a.name}
        if a.source:
            item["source"] = a.source
        found.append(item)
    return found


def parse_attachments(data: object) -> tuple[Attachment, ...]:
    found = []
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and item.get("kind") in set(AttachmentKind):
            found.append(Attachment(AttachmentKind(item["kind"]), str(item.get("ref", "")),
                                    str(item.get("name", "")), str(item.get("source", ""))))
    return tuple(found)


def to_payload(reply: Reply) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "text": reply.text,
        "buttons": to_buttons_json(reply.buttons),
        "faq_entry_id": reply.faq_entry_id,
        "links": [list(link) for link in reply.links],
    }
    if reply.attachments:
        payload["attachments"] = to_attachments_json(reply.attachments)
    if reply.typed_text:
        payload["typed_text"] = reply.typed_text
    if reply.app != ALL_BUTTONS:
        payload["app_lacks"] = to_app_lacks(reply.app)
    return payload


def parse_payload(data: dict[str, Any]) -> Reply:
    links = tuple((str(t), str(u)) for t, u in data.get("links") or [])
    return Reply(
        text=str(data.get("text", "")),
        buttons=parse_buttons(data.get("buttons")),
        faq_entry_id=str(data.get("faq_entry_id", "")),
        links=links,
        attachments=parse_attachments(data.get("attachments")),
        typed_text=str(data.get("typed_text", "")),
        app=parse_app(str(data.get("app_lacks", ""))),
    )
