"""Secrets kept out of every error text the service stores, logs or shows.

A failed Telegram file download names its URL, `…/file/bot<token>/documents/f.pdf`; the
error of an aiohttp call may name the API URL with the token in it too; a refused VK Callback
body quotes its "secret". Whatever turns an
error into text (the outbox's last_error, log lines, the «Сообщение не доставлено» notice)
passes it through redact().
"""

from __future__ import annotations

import re

# Telegram bot tokens as they appear in Bot API URLs: bot<id>:<secret>.
_BOT_TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]{20,}")
_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")  # the same without the "bot" prefix
# A secret named in a body or a query, whatever its value: VK's Callback "secret" (sent in the
# JSON body), "access_token" (VK API URLs and Long Poll servers' keys), a "token" field.
_NAMED = re.compile(r'(["\']?\b(?:secret|access_token|token|key)\b["\']?\s*[:=]\s*["\']?)'
                    r'[^"\'&\s,}]+')
HIDDEN = "[token]"
MIN_SECRET = 8  # shorter values would hide ordinary words

_known: set[str] = set()


def add_secret(value: str) -> None:
    """A configured secret (a bot's or a community's token): hidden wherever it appears."""
    if len(value) >= MIN_SECRET:
        _known.add(value)


def redact(text: str) -> str:
    """The text with every bot token and every configured secret replaced by «[token]»."""
    if not text:
        return text
    for secret in _known:
        if secret in text:
            text = text.replace(secret, HIDDEN)
    text = _BOT_TOKEN.sub("bot" + HIDDEN, text)
    text = _NAMED.sub(lambda m: m.group(1) + HIDDEN, text)
    return _TOKEN.sub(HIDDEN, text)


def error_text(exc: BaseException) -> str:
    """«TypeName: message» of an exception, without secrets."""
    message = str(exc)
    return redact(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)
