"""The adapter's own view of its settings, so that bots never import the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Update kinds the bot asks Telegram for; everything else is never delivered.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query", "business_message",
                   "edited_business_message", "my_chat_member")


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    token: str
    mode: Literal["polling", "webhook"] = "polling"
    api_server: str = "https://api.telegram.org"
    webhook_url: str = ""
    webhook_path: str = "/telegram/webhook"
    webhook_secret: str = ""
    specialists_chat_id: int | None = None
    specialist_ids: frozenset[int] = frozenset()
    poll_timeout_s: int = 25  # long-poll wait Telegram holds the request open for
    # The staff group gets clients' texts and files unmasked only when the institution has
    # decided so (152-ФЗ: a cross-border transfer); desk_url links posts to the web desk.
    staff_full_texts: bool = False
    desk_url: str = ""


def check_telegram(config: TelegramConfig) -> None:
    """What the bot cannot start without; `priemnaya settings` asks too, not only `run`."""
    if not config.token:
        raise ValueError("telegram.token is empty: set PRIEMNAYA_TELEGRAM__TOKEN")
    if config.mode == "webhook" and not (config.webhook_url and config.webhook_secret):
        raise ValueError("telegram webhook mode needs telegram.webhook_url and "
                         "PRIEMNAYA_TELEGRAM__WEBHOOK_SECRET")
