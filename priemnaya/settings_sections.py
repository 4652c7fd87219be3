"""The sections of the settings, each a pydantic model checking its own keys."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from bots.web.client_address import parse_networks

# The name the settings' warnings have always been logged under (priemnaya/settings.py).
log = logging.getLogger("priemnaya.settings")


def _http_url(value: str) -> str:
    """An address the service calls or gives out: a typo («notaurl», «api.vk.ru» without the
    scheme) would otherwise surface only as a failed request at the first message."""
    try:
        parts = urlsplit(value)
    except ValueError as exc:
        raise ValueError(f"expected an http(s) URL: {exc}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or value != value.strip():
        raise ValueError("expected an http:// or https:// URL such as https://example.org/")
    return value


def _http_url_or_empty(value: str) -> str:
    return value and _http_url(value)


HttpUrl = Annotated[str, AfterValidator(_http_url)]
OptionalHttpUrl = Annotated[str, AfterValidator(_http_url_or_empty)]  # "": not set
# Telegram's secret_token of setWebhook: 1–256 characters A-Z, a-z, 0-9, _ and -.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstitutionSettings(Section):
    id: str = Field("default", pattern=r"^[a-z0-9_-]{1,64}$")
    # Empty: the knowledge base's `institution` is shown instead.
    name: str = Field("", max_length=300)
    timezone: str = "Asia/Yekaterinburg"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("expected an IANA time zone such as Asia/Yekaterinburg") from exc
        return value


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///data/priemnaya.db"

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("expected sqlite+aiosqlite:///PATH or postgresql+asyncpg://...")
        return value


class RedisSettings(Section):
    url: str = ""  # empty: single replica, shared state in process memory

    @field_validator("url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        # Checked as redis-py reads it: `run` would otherwise stop with its traceback after
        # `priemnaya settings` had passed the value.
        if not value:
            return value
        if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
            raise ValueError("expected redis://HOST:PORT/DB, rediss://HOST:PORT/DB or "
                             "unix:///PATH such as redis://127.0.0.1:6379/0")
        from redis.asyncio.connection import parse_url

        parse_url(value)  # a port or an option that is no number, in redis-py's words
        return value


class WebSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    public_url: OptionalHttpUrl = ""
    cookie_secure: bool = False  # set true behind HTTPS
    max_message_chars: int = Field(4000, ge=100, le=100_000)
    trusted_proxies: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _former_keys(cls, data: Any) -> Any:
        # Sessions are random tokens kept (hashed) in the database: nothing was ever signed
        # with session_secret. Older settings, secrets files and environments still name it.
        if isinstance(data, dict) and "session_secret" in data:
            data = {k: v for k, v in data.items() if k != "session_secret"}
            log.warning("web.session_secret is no longer used and is ignored: remove it from "
                        "the settings, secrets.yaml or PRIEMNAYA_WEB__SESSION_SECRET")
        return data

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        parse_networks(value)  # names the first value that is neither an address nor a network
        return value


class FaqThresholds(Section):
    """Empty keys keep the defaults tuned on development data (docs/faq-matching.md)."""

    answer_confidence: float | None = Field(None, ge=0, le=1)
    answer_threshold: float | None = Field(None, ge=0, le=1)
    margin: float | None = Field(None, ge=0, le=1)
    clarify_threshold: float | None = Field(None, ge=0, le=1)
    clarify_ratio: float | None = Field(None, ge=0, le=1)
    max_options: int | None = Field(None, ge=2, le=3)
    # The neural re-check's cut-off (faq.neural; docs/faq-matching.md, "Neural re-check").
    neural_confidence: float | None = Field(None, ge=0, le=1)


class FaqSettings(Section):
    paths: list[Path] = [Path("kb/sample")]
    synonyms: list[Path] = []
    reload_interval_s: float = Field(5.0, gt=0)
    # Re-read the messages the matcher would clarify with a sentence encoder (faq/neural.py):
    # more direct answers, ~20 ms of CPU per such message. Needs `pip install
    # 'priemnaya[neural]'`.
    neural: bool = False
    # Where the knowledge base's encodings are kept between starts (none of a client's text).
    neural_cache: Path = Path("data/faq-neural-cache.npz")
    # A copy of the files that loaded last: a start with broken files answers from it.
    last_good: Path = Path("data/kb-last-good")
    thresholds: FaqThresholds = Field(default_factory=FaqThresholds)


class TemplatesSettings(Section):
    override_dir: Path | None = None


class TelegramSettings(Section):
    enabled: bool = False
    token: SecretStr = SecretStr("")
    mode: Literal["polling", "webhook"] = "polling"
    api_server: HttpUrl = "https://api.telegram.org"
    webhook_url: OptionalHttpUrl = ""
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr = SecretStr("")
    specialists_chat_id: int | None = None
    specialist_ids: list[int] = []
    # Clients' texts and files in the specialists' group: masked by default (152-ФЗ).
    staff_full_texts: bool = False

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret_token(cls, value: SecretStr) -> SecretStr:
        # Telegram's setWebhook refuses any other secret_token, so the start would fail.
        secret = value.get_secret_value()
        if secret and not _WEBHOOK_SECRET.fullmatch(secret):
            raise ValueError("expected 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("staff_full_texts", mode="before")
    @classmethod
    def _plain_yes_or_no(cls, value: Any) -> Any:
        # A decision to send personal data abroad is not read out of «1», «yes» or «on».
        if isinstance(value, bool) or str(value).lower() in ("true", "false"):
            return value
        raise ValueError("expected true or false")


class VkCatchUpSettings(Section):
    """Long Poll only: what the bot missed while it was down is read from VK's history."""

    conversations: int = Field(200, ge=0, le=10_000)  # 0: no catch-up
    messages: int = Field(20, ge=1, le=200)  # per conversation; messages.getHistory's limit
    # Older missed messages are stored for the desk but get no automatic answer.
    answer_within_hours: float = Field(72.0, gt=0)


class VkSettings(Section):
    enabled: bool = False
    token: SecretStr = SecretStr("")
    group_id: int | None = Field(None, gt=0)
    mode: Literal["longpoll", "callback"] = "longpoll"
    callback_path: str = "/vk/callback"
    confirmation: str = ""
    secret: SecretStr = SecretStr("")
    api_url: HttpUrl = "https://api.vk.ru/method/"
    catch_up: VkCatchUpSettings = Field(default_factory=VkCatchUpSettings)


class OutboxSettings(Section):
    poll_interval_s: float = Field(1.0, gt=0, le=60)


class ConversationSettings(Section):
    # A conversation only the bot took part in ends after this much silence, so that the
    # analytics can count it as resolved (or not) by the FAQ.
    idle_close_hours: float = Field(24.0, gt=0)


class DeskSettings(Section):
    # How often waiting hand-overs are checked for the 80% reminder and for a missed target.
    reminder_interval_s: float = Field(60.0, gt=0, le=3600)


class RetentionSettings(Section):
    raw_text_days: int = Field(365, ge=1)


class LoggingSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
