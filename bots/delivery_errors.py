"""What a failed delivery means for the specialist, in a word the templates put into Russian.

The technical text (the platform's error, in English) stays in the log and in the outbox's
last_error; the specialists' group is shown staff_delivery_failed.j2 by this reason.
"""

from __future__ import annotations

import re

from bots.files import FILE_PREFIX

FILE = "file"  # a file could not be fetched or passed on; the text, if any, went
BLOCKED = "blocked"  # the client blocked the bot or forbade the community's messages
NETWORK = "network"  # the platform did not answer for hours of retries
CHANNEL_OFF = "channel_off"  # the client's channel is not enabled in the settings
TOO_LONG = "too_long"
REFUSED = "refused"  # anything else the platform refused

_GAVE_UP = re.compile(r"^gave up after \d+ attempts: ")
# VK: 900 blacklist, 901 no permission to write, 902 privacy settings (bots/vk/api.py).
_VK_BLOCKED = re.compile(r"^VK error 90[012]\b")
_TELEGRAM_BLOCKED = ("bot was blocked by the user", "user is deactivated",
                     "bot can't initiate conversation", "bot was kicked")
_NETWORK = ("ClientError", "ClientConnectorError", "ServerDisconnectedError", "TimeoutError",
            "TelegramNetworkError", "TelegramServerError", "VkUnavailable", "flood control",
            "OSError", "ConnectionError", "VK error 1:", "VK error 6:", "VK error 9:",
            "VK error 10:", "Bad Gateway", "Too Many Requests")


def reason_of(error: str) -> str:
    """One of the reasons above for an outbox error text."""
    text = _GAVE_UP.sub("", error)
    if text.startswith(FILE_PREFIX) or text.startswith("files of channel"):
        return FILE
    if _VK_BLOCKED.match(text) or any(m in text.lower() for m in _TELEGRAM_BLOCKED):
        return BLOCKED
    if text.startswith("channel ") and text.endswith(" is not enabled"):
        return CHANNEL_OFF
    if "too long" in text.lower():
        return TOO_LONG
    if text != error or any(m in text for m in _NETWORK):
        return NETWORK  # retried until the outbox gave up: the platform was out of reach
    return REFUSED
