"""Settings: settings.yaml, then an untracked secrets file, then PRIEMNAYA_* environment."""

from __future__ import annotations

import copy
import logging
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from bots.web.client_address import parse_networks
from faq.strict_yaml import parse_yaml, repeated_message
from priemnaya.settings_work import CalendarSettings, CrisisSettings, QueueSettings

log = logging.getLogger(__name__)

# Built-in relative defaults (kb/sample, config/crisis_rules.yaml, data/) are read from here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Keys that must never be committed in settings.yaml.
SECRET_KEYS = (
    ("telegram", "token"), ("telegram", "webhook_secret"), ("vk", "token"), ("vk", "secret"),
)


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


# The queues of the shipped settings.yaml, whose header says its values are the defaults: the
# sample knowledge base's categories name them, and a file without `queues:` must neither send
# every hand-over to general nor give crises the ordinary 9-hour target.
_DEFAULT_QUEUE_TITLES = (
    ("general", "Общие вопросы"), ("reception", "Документы и запись на приём"),
    ("family", "Семьи с детьми"), ("housing", "Оплата ЖКУ"), ("benefits", "Льготы и ветераны"),
    ("low_income", "Малоимущие и социальный контракт"), ("home_care", "Обслуживание на дому"),
    ("disability", "Инвалидность и реабилитация"), ("elderly", "Старшее поколение"),
)


def default_queues() -> list[QueueSettings]:
    queues = [QueueSettings(id=queue_id, title=title) for queue_id, title in _DEFAULT_QUEUE_TITLES]
    urgent = QueueSettings(id="urgent", title="Срочные обращения", first_reply_hours=2,
                           urgent_hours=1)
    return [queues[0], urgent, *queues[1:]]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRIEMNAYA_", env_nested_delimiter="__",
                                      extra="forbid", nested_model_default_partial_update=True)

    institution: InstitutionSettings = Field(default_factory=InstitutionSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    faq: FaqSettings = Field(default_factory=FaqSettings)
    templates: TemplatesSettings = Field(default_factory=TemplatesSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    vk: VkSettings = Field(default_factory=VkSettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)
    conversations: ConversationSettings = Field(default_factory=ConversationSettings)
    desk: DeskSettings = Field(default_factory=DeskSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    queues: list[QueueSettings] = Field(default_factory=default_queues)
    default_queue: str = "general"
    crisis: CrisisSettings = Field(default_factory=CrisisSettings)

    @model_validator(mode="after")
    def _one_timezone(self) -> Settings:
        # Working hours follow the institution's zone unless the calendar names its own.
        if "timezone" not in self.calendar.model_fields_set:
            self.calendar.timezone = self.institution.timezone
        return self

    @model_validator(mode="after")
    def _queues_known(self) -> Settings:
        ids = [q.id for q in self.queues]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"queues: id {twice[0]!r} is used twice")
        for key, value in (("default_queue", self.default_queue),
                           ("crisis.urgent_queue", self.crisis.urgent_queue)):
            if value not in ids:
                raise ValueError(f"{key} = {value!r} is not a queue id; known: {', '.join(ids)}")
        return self

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the files, so a deployment overrides without editing them.
        return env_settings, init_settings


class SettingsError(Exception):
    """One line naming the key, the value and what is expected."""


def check_folders(settings: Settings) -> None:
    """Folders the settings name must exist: a mistyped one would be ignored without a word."""
    folder = settings.templates.override_dir
    if folder is not None and not folder.is_dir():
        raise SettingsError(f"templates.override_dir: {folder} is not a folder")


def load_settings(path: Path | None, secrets: Path | None = None) -> Settings:
    data = _read_yaml(path, "settings") if path else {}
    file_data = copy.deepcopy(data)
    _refuse_committed_secrets(data, path)
    if secrets is not None and secrets.exists():
        _deep_merge(data, _read_yaml(secrets, "secrets"))
    try:
        settings = Settings(**data) if data else Settings()
    except ValidationError as exc:
        raise SettingsError(describe(exc, data)) from None
    return anchored(settings, path.resolve().parent if path else None, file_data)


def anchored(settings: Settings, base: Path | None, given: dict[str, Any]) -> Settings:
    """Relative paths written in a settings file mean "beside that file"; built-in defaults
    mean "in the project" (kb/, config/, data/ beside the packages, where the templates are
    read from too), whatever the working directory. Environment values stay relative to it.
    """

    def folder(section: BaseModel, name: str, key: str) -> Path | None:
        block = given.get(name)
        if base is not None and isinstance(block, dict) and key in block:
            return base
        return None if key in section.model_fields_set else PROJECT_ROOT

    def at(where: Path | None, p: Path) -> Path:
        return p if where is None or p.is_absolute() else where / p

    faq, crisis, templates, database = (settings.faq, settings.crisis, settings.templates,
                                        settings.database)
    faq.paths = [at(folder(faq, "faq", "paths"), p) for p in faq.paths]
    faq.synonyms = [at(folder(faq, "faq", "synonyms"), p) for p in faq.synonyms]
    faq.neural_cache = at(folder(faq, "faq", "neural_cache"), faq.neural_cache)
    faq.last_good = at(folder(faq, "faq", "last_good"), faq.last_good)
    crisis.rules_path = at(folder(crisis, "crisis", "rules_path"), crisis.rules_path)
    if templates.override_dir is not None:
        where = folder(templates, "templates", "override_dir")
        templates.override_dir = at(where, templates.override_dir)
    where = folder(database, "database", "url")
    block = given.get("database")
    in_file = block.get("url") if isinstance(block, dict) and "url" in block else None
    if where is not None and in_file is not None and database.url != in_file:
        where = None  # the environment overrides the file's value
    database.url = _sqlite_at(where, database.url)
    return settings


def _sqlite_at(where: Path | None, url: str) -> str:
    prefix = "sqlite+aiosqlite:///"
    if where is None or not url.startswith(prefix) or url.startswith(prefix + "/") \
            or ":memory:" in url:
        return url
    return prefix + str(where / url.removeprefix(prefix))


def _read_yaml(path: Path, what: str) -> dict[str, Any]:
    try:
        data, repeated = parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read {what} file {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        # Notepad and Excel on a Russian Windows save in Windows-1251 unless told otherwise.
        line = exc.object[:exc.start].count(b"\n") + 1
        raise SettingsError(f"{path}: the {what} file must be saved as UTF-8 (line {line} "
                            "is not UTF-8; Windows-1251?)") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
    if repeated:
        # YAML would keep the last one silently: a setting written twice is a mistake.
        raise SettingsError(f"{path}: {repeated_message(repeated[0])}: a key may appear "
                            "only once in a section")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    return data


def _refuse_committed_secrets(data: dict[str, Any], path: Path | None) -> None:
    for section, key in SECRET_KEYS:
        block = data.get(section)
        if isinstance(block, dict) and block.get(key):
            env = f"PRIEMNAYA_{section.upper()}__{key.upper()}"
            raise SettingsError(f"{section}.{key} is a secret and must not be in {path}: "
                                f"set {env} in the environment or put it in secrets.yaml")


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


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
    return "invalid settings: " + _without_passwords("; ".join(parts))


# The password of a URL (postgresql://user:PASSWORD@host, redis://:PASSWORD@host): an error
# message about a database or Redis address goes to the terminal and the service's log.
_URL_PASSWORD = re.compile(r"(\w://[^\s:/@'\"]*:)[^\s@'\"]*@")


def _without_passwords(text: str) -> str:
    return _URL_PASSWORD.sub(r"\1***@", text)
