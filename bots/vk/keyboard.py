"""Reply buttons as a VK keyboard, within VK's limits."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import ceil
from typing import Any

from handlers.model import ALL_BUTTONS, ActionKind, Button, ClientApp

log = logging.getLogger(__name__)

# https://dev.vk.com/ru/api/bots/development/keyboard
MAX_LABEL = 40
MAX_PAYLOAD_BYTES = 255
MAX_WIDTH = 5


@dataclass(frozen=True, slots=True)
class Limits:
    rows: int
    total: int


def app_of(client_info: object) -> ClientApp:
    """VK's client_info: {"button_actions": [...], "keyboard": bool, "inline_keyboard": bool}.
    What it does not say is taken as supported, as before client_info existed."""
    if not isinstance(client_info, Mapping):
        return ALL_BUTTONS
    actions = client_info.get("button_actions")
    # An app that lists no button actions at all can show none, whatever "keyboard" says.
    return ClientApp(keyboard=client_info.get("keyboard") is not False and actions != [],
                     inline=client_info.get("inline_keyboard") is not False,
                     callback=not isinstance(actions, list) or "callback" in actions)


INLINE = Limits(rows=6, total=10)
REGULAR = Limits(rows=10, total=40)
_PRIMARY = frozenset({ActionKind.SPECIALIST, ActionKind.CONSENT, ActionKind.START})


def to_label(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1].rstrip() + "…"


def to_payload(button: Button) -> str | None:
    payload = json.dumps({"a": button.action.to_payload()}, ensure_ascii=False,
                         separators=(",", ":"))
    return payload if len(payload.encode()) <= MAX_PAYLOAD_BYTES else None


def to_keyboard(buttons: Sequence[Sequence[Button]], app: ClientApp = ALL_BUTTONS) -> str | None:
    """An inline keyboard of callback buttons when it fits, else a one-time regular one.

    Regular keyboards take text buttons: the client then sees what they pressed as their own
    message. A client whose app shows no inline keyboards gets the regular one, one without
    callback buttons text buttons, one without keyboards none: the texts that offer choices
    number them (clarify.j2, category.j2), and a typed number picks one.
    """
    rows = [list(row[:MAX_WIDTH]) for row in buttons if row]
    if not rows or not app.keyboard:
        return None
    inline = app.inline and len(rows) <= INLINE.rows and sum(map(len, rows)) <= INLINE.total
    kind = "callback" if inline and app.callback else "text"
    fitted = rows if inline else fit(rows, REGULAR)
    body: dict[str, Any] = {
        "inline": inline,
        "buttons": [[b for b in (_button(x, kind) for x in row) if b] for row in fitted],
    }
    if not inline:
        body["one_time"] = True
    body["buttons"] = [row for row in body["buttons"] if row]
    return json.dumps(body, ensure_ascii=False)


def fit(rows: list[list[Button]], limits: Limits) -> list[list[Button]]:
    """Packs buttons side by side when there are too many rows; drops what still overflows."""
    flat = [b for row in rows for b in row]
    if len(flat) > limits.total:
        log.warning("keyboard of %s buttons cut to VK's %s", len(flat), limits.total)
        flat = flat[:limits.total]
        rows = [flat[i:i + 1] for i in range(len(flat))]
    if len(rows) <= limits.rows:
        return rows
    width = min(MAX_WIDTH, ceil(len(flat) / limits.rows))
    return [flat[i:i + width] for i in range(0, len(flat), width)]


def _button(button: Button, kind: str) -> dict[str, Any] | None:
    payload = to_payload(button)
    if payload is None:
        log.warning("button %r dropped: payload over %s bytes", button.label, MAX_PAYLOAD_BYTES)
        return None
    color = "primary" if button.action.kind in _PRIMARY else "secondary"
    action = {"type": kind, "label": to_label(button.label), "payload": payload}
    return {"action": action, "color": color}
