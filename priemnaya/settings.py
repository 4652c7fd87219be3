"""Settings: settings.yaml, then an untracked secrets file, then PRIEMNAYA_* environment."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from faq.strict_yaml import parse_yaml, repeated_message
from priemnaya.settings_env import EnvValueError, ReadableEnvSource, unknown_variables
from priemnaya.settings_errors import SECRET_KEYS, describe
from priemnaya.settings_sections import (
    ConversationSettings,
    DatabaseSettings,
    DeskSettings,
    FaqSettings,
    InstitutionSettings,
    LoggingSettings,
    OutboxSettings,
    RedisSettings,
    RetentionSettings,
    TelegramSettings,
    TemplatesSettings,
    VkSettings,
    WebSettings,
)
from priemnaya.settings_work import CalendarSettings, CrisisSettings, QueueSettings

# Built-in relative defaults (kb/sample, config/crisis_rules.yaml, data/) are read from here.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


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
        return ReadableEnvSource(settings_cls), init_settings


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
    if secrets is not None:
        _deep_merge(data, _read_yaml(secrets, "secrets"))
    if unknown := unknown_variables(os.environ, Settings):
        raise SettingsError("invalid environment: " + "; ".join(unknown))
    try:
        settings = Settings(**data) if data else Settings()
    except ValidationError as exc:
        raise SettingsError(describe(exc, data)) from None
    except SourceError as exc:
        cause = exc.__cause__
        reason = str(cause) if isinstance(cause, EnvValueError) else f"{exc}: {cause}"
        raise SettingsError(f"invalid environment variable: {reason}") from None
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
