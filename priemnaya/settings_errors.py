"""How invalid settings are worded: the key, the value and what is expected, no secret."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

# Keys that must never be committed in settings.yaml, nor shown in an error message.
SECRET_KEYS = (
    ("telegram", "token"), ("telegram", "webhook_secret"), ("vk", "token"), ("vk", "secret"),
)


def describe(exc: ValidationError, data: dict[str, Any]) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        value = err.get("input")
        shown = "(missing)" if err["type"] == "missing" else repr(value)
        if any(key.endswith(f"{s}.{k}") for s, k in SECRET_KEYS):
            shown = "(hidden)"
        reason = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown key"
        if len(shown) > 80:
            shown = shown[:79] + "…"
        if not key:
            parts.append(reason)  # a check across keys names its keys in the reason itself
        elif isinstance(value, dict | list):
            # A section or list: the reason names the item at fault, the whole value is noise.
            parts.append(f"{key}: {reason}")
        else:
            parts.append(f"{key} = {shown}: {reason}")
    return "invalid settings: " + without_passwords("; ".join(parts))


# The password of a URL (postgresql://user:PASSWORD@host, redis://:PASSWORD@host, and in the
# query, unix:///run/redis.sock?password=PASSWORD as redis-py reads it): an error message about
# a database or Redis address, and `priemnaya settings`, go to the terminal and the log.
_URL_PASSWORD = re.compile(r"(\w://[^\s:/@'\"]*:)[^\s@'\"]*@")
_QUERY_PASSWORD = re.compile(r"(\w://[^\s'\"]*[?&]password=)[^\s&'\"]*")


def without_passwords(text: str) -> str:
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", text))
