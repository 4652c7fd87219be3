"""Platform and browser request bodies read as JSON, refusing what no client sends."""

from __future__ import annotations

import json
import re

from aiohttp import web

from bots.text import to_storable

# An escaped half of a surrogate pair; a whole pair is one character once parsed.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class UnreadableBody(ValueError):
    """A body that is not UTF-8 JSON, with the reason to answer (never the body itself)."""


class NotJson(UnreadableBody):
    """UTF-8 text, but not JSON: a caller that keeps such bodies has the text."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(reason)
        self.text = text


async def read_json_body(request: web.Request) -> tuple[object, str]:
    """The parsed body and its text; raises UnreadableBody."""
    return parse_json_body(await request.read())


def parse_json_body(data: bytes) -> tuple[object, str]:
    """Strict UTF-8 (a replaced byte would change what the client wrote, silently), JSON
    no deeper than the parser's recursion allows (100,000 nested lists raised RecursionError,
    an HTTP 500 that VK resends), and each lone surrogate in a string replaced by U+FFFD (no
    database can store one) as the web chat does with its texts."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableBody(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        value: object = json.loads(text)
    except RecursionError:
        raise UnreadableBody("the JSON is nested too deep") from None
    except ValueError as exc:
        raise NotJson(f"not JSON: {exc}", text) from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            value = _storable(value)
        except RecursionError:
            raise UnreadableBody("the JSON is nested too deep") from None
    return value, text


def _storable(value: object) -> object:
    if isinstance(value, str):
        return to_storable(value)
    if isinstance(value, dict):
        return {to_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value
