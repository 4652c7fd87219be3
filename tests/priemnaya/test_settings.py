"""Settings: defaults, YAML, environment overrides, secrets and one-line errors."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bots.vk.config import CatchUpConfig
from faq.loader import load_kb
from priemnaya.channels import to_telegram_config, to_vk_config
from priemnaya.faq_setup import unrouted_categories
from priemnaya.settings import SettingsError, load_settings


def write(tmp_path: Path, text: str, name: str = "settings.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


ROOT = Path(__file__).resolve().parents[2]


def test_defaults_without_a_file() -> None:
    s = load_settings(None)
    assert s.database.url == f"sqlite+aiosqlite:///{ROOT}/data/priemnaya.db"
    assert (s.web.host, s.web.port) == ("127.0.0.1", 8080)
    assert s.institution.timezone == "Asia/Yekaterinburg"
    assert s.calendar.timezone == "Asia/Yekaterinburg"
    assert s.telegram.enabled is False and s.vk.enabled is False


def test_committed_settings_file_is_valid() -> None:
    s = load_settings(ROOT / "settings.yaml")
    assert s.faq.paths == [ROOT / "kb" / "sample"]
    assert s.database.url == f"sqlite+aiosqlite:///{ROOT}/data/priemnaya.db"
    assert s.crisis.rules_path == ROOT / "config" / "crisis_rules.yaml"


def test_relative_paths_are_read_beside_the_settings_file(tmp_path: Path) -> None:
    path = write(tmp_path, "faq:\n  paths: [my_kb, /srv/kb]\n"
                           "database:\n  url: sqlite+aiosqlite:///db/p.db\n")
    s = load_settings(path)
    assert s.faq.paths == [tmp_path / "my_kb", Path("/srv/kb")]
    assert s.database.url == f"sqlite+aiosqlite:///{tmp_path}/db/p.db"
    absolute = write(tmp_path, "database:\n  url: sqlite+aiosqlite:////var/p.db\n", "b.yaml")
    assert load_settings(absolute).database.url == "sqlite+aiosqlite:////var/p.db"
    defaults_only = load_settings(write(tmp_path, "web:\n  port: 9000\n", "c.yaml"))
    # Built-in defaults are the project's own files, wherever the command runs from.
    assert defaults_only.faq.paths == [ROOT / "kb" / "sample"]
    assert defaults_only.crisis.rules_path == ROOT / "config" / "crisis_rules.yaml"
    assert defaults_only.database.url == f"sqlite+aiosqlite:///{ROOT}/data/priemnaya.db"


def test_a_settings_file_in_the_project_folder_needs_no_database_section(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("priemnaya.settings.PROJECT_ROOT", tmp_path)
    s = load_settings(write(tmp_path, 'institution:\n  name: "Тест"\n'))
    assert s.institution.name == "Тест"
    assert s.database.url == f"sqlite+aiosqlite:///{tmp_path}/data/priemnaya.db"


def test_relative_paths_from_the_environment_stay_relative_to_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "faq:\n  paths: [my_kb]\ndatabase:\n  url: sqlite+aiosqlite:///p.db\n")
    monkeypatch.setenv("PRIEMNAYA_CRISIS__RULES_PATH", "rules.yaml")
    monkeypatch.setenv("PRIEMNAYA_DATABASE__URL", "sqlite+aiosqlite:///env.db")
    s = load_settings(path)
    assert s.crisis.rules_path == Path("rules.yaml")
    assert s.database.url == "sqlite+aiosqlite:///env.db"
    assert s.faq.paths == [tmp_path / "my_kb"]


def test_an_impossible_date_is_a_settings_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "calendar:\n  extra_days_off: [2026-01-02, 2026-13-01]\n")
    with pytest.raises(SettingsError) as exc:
        load_settings(path)
    assert str(exc.value).startswith(
        f"{path}: not valid YAML: invalid date '2026-13-01': month must be in 1..12 ")
    assert "line 2, column 32" in str(exc.value)


def test_a_file_not_in_utf8_is_a_settings_error(tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_bytes("institution:\n  name: Центр\n".encode("cp1251"))
    with pytest.raises(SettingsError) as exc:
        load_settings(path)
    assert str(exc.value) == (f"{path}: the settings file must be saved as UTF-8 "
                              "(line 2 is not UTF-8; Windows-1251?)")


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "web:\n  port: 9000\ninstitution:\n  name: Центр\n")
    monkeypatch.setenv("PRIEMNAYA_WEB__PORT", "9100")
    monkeypatch.setenv("PRIEMNAYA_TELEGRAM__TOKEN", "123:abc")
    s = load_settings(path)
    assert s.web.port == 9100
    assert s.institution.name == "Центр"
    assert s.telegram.token.get_secret_value() == "123:abc"


def test_secrets_in_the_committed_file_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "telegram:\n  token: '123:abc'\n")
    with pytest.raises(SettingsError) as exc:
        load_settings(path)
    assert "telegram.token is a secret" in str(exc.value)
    assert "PRIEMNAYA_TELEGRAM__TOKEN" in str(exc.value)


def test_secrets_file_is_merged(tmp_path: Path) -> None:
    path = write(tmp_path, "vk:\n  enabled: true\n  group_id: 5\n")
    secrets = write(tmp_path, "vk:\n  token: vk-secret-token\n", "secrets.yaml")
    s = load_settings(path, secrets)
    assert s.vk.token.get_secret_value() == "vk-secret-token"
    assert s.vk.group_id == 5


def test_the_unused_session_secret_is_ignored_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Settings written for an older version still load: in the file (empty, as the committed
    # file listed it), in secrets.yaml, in the environment.
    path = write(tmp_path, "web:\n  port: 9000\n  session_secret: ''\n")
    secrets = write(tmp_path, "web:\n  session_secret: old-value\n", "secrets.yaml")
    monkeypatch.setenv("PRIEMNAYA_WEB__SESSION_SECRET", "from-the-environment")
    with caplog.at_level("WARNING", logger="priemnaya.settings"):
        s = load_settings(path, secrets)
    assert s.web.port == 9000
    assert "session_secret" not in s.web.model_dump()
    assert "web.session_secret is no longer used and is ignored" in caplog.text
    assert "old-value" not in caplog.text and "from-the-environment" not in caplog.text


def test_the_committed_file_names_no_unused_key() -> None:
    assert "session_secret" not in (ROOT / "settings.yaml").read_text(encoding="utf-8")


def test_full_staff_texts_and_the_desk_address_reach_the_adapter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings(None)
    assert to_telegram_config(defaults.telegram).staff_full_texts is False
    path = write(tmp_path, "web:\n  public_url: https://priem.example.ru\n")
    monkeypatch.setenv("PRIEMNAYA_TELEGRAM__STAFF_FULL_TEXTS", "true")
    s = load_settings(path)
    config = to_telegram_config(s.telegram, s.web.public_url)
    assert (config.staff_full_texts, config.desk_url) == (True, "https://priem.example.ru")


def test_vk_catch_up_bounds_reach_the_adapter(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings(None).vk.model_copy(update={"token": SecretStr("t"),
                                                         "group_id": 5})
    assert to_vk_config(defaults).catch_up == CatchUpConfig()
    path = write(tmp_path, "vk:\n  enabled: true\n  group_id: 5\n  catch_up:\n"
                           "    messages: 50\n    answer_within_hours: 12\n")
    monkeypatch.setenv("PRIEMNAYA_VK__TOKEN", "vk-token")
    monkeypatch.setenv("PRIEMNAYA_VK__CATCH_UP__CONVERSATIONS", "0")
    limits = to_vk_config(load_settings(path).vk).catch_up
    assert (limits.conversations, limits.messages) == (0, 50)
    assert limits.answer_within == timedelta(hours=12)


@pytest.mark.parametrize(("text", "expected"), [
    ("web:\n  port: abc\n", "web.port = 'abc': Input should be a valid integer"),
    ("web:\n  port: 70000\n", "web.port = 70000: Input should be less than or equal to 65535"),
    ("telegram:\n  mode: push\n", "telegram.mode = 'push': Input should be 'polling' or"),
    ("institution:\n  timezone: Mars/Olympus\n", "institution.timezone = 'Mars/Olympus': "
     "expected an IANA time zone"),
    ("database:\n  url: mysql://x\n", "database.url = 'mysql://x': expected sqlite+aiosqlite"),
    ("web:\n  colour: red\n", "web.colour = 'red': unknown key"),
    ("vk:\n  api_url: notaurl\n", "vk.api_url = 'notaurl': expected an http:// or https://"),
    ("vk:\n  api_url: ''\n", "vk.api_url = '': expected an http:// or https:// URL"),
    ("telegram:\n  api_server: 'http://'\n", "telegram.api_server = 'http://': expected an"),
    ("telegram:\n  webhook_url: bot.example.org\n", "telegram.webhook_url = 'bot.example.org"),
    ("web:\n  public_url: desk.example.org\n", "web.public_url = 'desk.example.org': expected"),
    ("default_queue: nowhere\n", "settings: default_queue = 'nowhere' is not a queue id"),
    ("telegram:\n  staff_full_texts: maybe\n",
     "telegram.staff_full_texts = 'maybe': expected true or false"),
    ("telegram:\n  staff_full_texts: 1\n", "telegram.staff_full_texts = 1: expected true or"),
    ("vk:\n  catch_up:\n    messages: 500\n", "vk.catch_up.messages = 500: Input should "
     "be less than or equal to 200"),
    # A section's fault names its item; the whole section is not printed, cut in the middle.
    ("calendar:\n  hours: {mon: '08:30-17:30', tue: '08:30-17:30', wed: '8:30-25:00'}\n",
     "invalid settings: calendar.hours: hours.wed: '8:30-25:00': '25:00' is not a time HH:MM"),
])
def test_invalid_settings_name_key_value_and_expectation(tmp_path: Path, text: str,
                                                          expected: str) -> None:
    with pytest.raises(SettingsError) as exc:
        load_settings(write(tmp_path, text))
    message = str(exc.value)
    assert message.startswith("invalid settings: ")
    assert expected in message
    assert "\n" not in message


def test_broken_yaml_and_wrong_shape(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not valid YAML"):
        load_settings(write(tmp_path, "web: [unclosed\n"))
    with pytest.raises(SettingsError, match="expected a mapping of sections"):
        load_settings(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(SettingsError, match="cannot read settings file"):
        load_settings(tmp_path / "missing.yaml")


def test_a_section_written_twice_is_refused(tmp_path: Path) -> None:
    # YAML would keep the second `web:` only, and the port set in the first would be lost.
    text = "web:\n  port: 9000\nfaq:\n  reload_interval_s: 3\nweb:\n  host: 0.0.0.0\n"
    with pytest.raises(SettingsError, match=r"duplicate key 'web' \(line 5\)"):
        load_settings(write(tmp_path, text))


@pytest.mark.parametrize("given", ["", "web:\n  port: 8080\n"])
def test_the_shipped_settings_file_holds_the_defaults(tmp_path: Path, given: str) -> None:
    """settings.yaml says its values are the defaults: a file that leaves a block out, or an
    empty one, gets the same effective settings (queues and their targets included)."""
    shipped = load_settings(ROOT / "settings.yaml")
    omitted = load_settings(write(tmp_path, given))
    assert omitted.model_dump() == shipped.model_dump()
    urgent = next(q for q in omitted.queues if q.id == omitted.crisis.urgent_queue)
    assert (urgent.first_reply_hours, urgent.urgent_hours) == (2, 1)


def test_every_category_of_the_sample_has_its_queue_by_default() -> None:
    settings = load_settings(None)
    assert unrouted_categories(settings, load_kb(settings.faq.paths)) == []


@pytest.mark.parametrize("url", ["", "redis://127.0.0.1:6379/0",
                                 "rediss://:pw@cache.example:6380/2",
                                 "unix:///run/redis/redis.sock?db=1"])
def test_redis_urls_redis_py_reads_are_accepted(url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_REDIS__URL", url)
    assert load_settings(None).redis.url == url


@pytest.mark.parametrize(("url", "reason"), [
    ("http://x", "expected redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH such "
                 "as redis://127.0.0.1:6379/0"),
    ("127.0.0.1:6379", "expected redis://HOST:PORT/DB"),
    ("localhost:6379", "expected redis://HOST:PORT/DB"),
    ("redis://127.0.0.1:63a9/0", "Port could not be cast to integer value as '63a9'"),
])
def test_a_redis_url_redis_py_refuses_is_a_settings_error(
        url: str, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_REDIS__URL", url)
    with pytest.raises(SettingsError) as exc:
        load_settings(None)
    assert str(exc.value).startswith(f"invalid settings: redis.url = {url!r}: {reason}")


@pytest.mark.parametrize(("key", "url"), [
    ("REDIS__URL", "http://:s3cret-pw@cache.example:6379/0"),
    ("REDIS__URL", "redis://:s3cret-pw@cache.example:63a9/0"),
    ("DATABASE__URL", "mysql://priemnaya:s3cret-pw@db.example/priemnaya"),
])
def test_a_refused_url_is_shown_without_its_password(
        key: str, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The message goes to the terminal and the service's log.
    monkeypatch.setenv(f"PRIEMNAYA_{key}", url)
    with pytest.raises(SettingsError) as exc:
        load_settings(None)
    assert "s3cret-pw" not in str(exc.value)
    assert url.replace("s3cret-pw", "***") in str(exc.value)


@pytest.mark.parametrize("secret", ["", "a", "Abc_DEF-123", "x" * 256])
def test_webhook_secrets_telegram_takes_are_accepted(secret: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_TELEGRAM__WEBHOOK_SECRET", secret)
    assert load_settings(None).telegram.webhook_secret.get_secret_value() == secret


@pytest.mark.parametrize("secret", ["bad secret!", "x" * 257, "пароль", "a.b", "a\n"])
def test_a_webhook_secret_telegram_refuses_is_a_settings_error_that_hides_it(
        secret: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_TELEGRAM__WEBHOOK_SECRET", secret)
    with pytest.raises(SettingsError) as exc:
        load_settings(None)
    assert str(exc.value) == ("invalid settings: telegram.webhook_secret = (hidden): expected "
                              "1-256 characters of A-Z, a-z, 0-9, _ and -")


@pytest.mark.parametrize("text", ["/srv/kb", "/srv/kb, /srv/more", "[/srv/kb, /srv/more]",
                                  '["/srv/kb", "/srv/more"]'])
def test_a_list_from_the_environment_is_read_as_written_in_a_shell(
        text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_FAQ__PATHS", text)
    monkeypatch.setenv("PRIEMNAYA_WEB__TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8")
    s = load_settings(None)
    assert s.faq.paths[0] == Path("/srv/kb") and s.faq.paths[1:] in ([], [Path("/srv/more")])
    assert s.web.trusted_proxies == ["127.0.0.1", "10.0.0.0/8"]


def test_an_unreadable_list_from_the_environment_is_one_line_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_WEB__TRUSTED_PROXIES", "[127.0.0.1")
    with pytest.raises(SettingsError) as exc:
        load_settings(None)
    assert str(exc.value) == (
        "invalid environment variable: PRIEMNAYA_WEB__TRUSTED_PROXIES = '[127.0.0.1': "
        "expected a comma-separated list such as a,b, or [a, b] (JSON or YAML)")


@pytest.mark.parametrize(("variable", "meant"), [
    ("PRIEMNAYA_WBE__PORT", "PRIEMNAYA_WEB__PORT"),
    ("PRIEMNAYA_WEB_PORT", "PRIEMNAYA_WEB__PORT"),
    ("PRIEMNAYA_TELEGRAM_TOKEN", "PRIEMNAYA_TELEGRAM__TOKEN"),
])
def test_a_variable_that_names_no_setting_is_refused_with_the_closest_name(
        variable: str, meant: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(variable, "9000")
    with pytest.raises(SettingsError) as exc:
        load_settings(None)
    assert str(exc.value) == (f"invalid environment: {variable} names no setting "
                              f"(PRIEMNAYA_<SECTION>__<KEY>); did you mean {meant}?")
    assert "9000" not in str(exc.value)  # the value may be a token


def test_the_project_tools_own_variables_are_no_settings_and_pass(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_TEST_PG", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("PRIEMNAYA_DEFAULT_QUEUE", "urgent")
    assert load_settings(None).default_queue == "urgent"


def test_the_shipped_settings_say_vk_group_id_is_required_as_the_start_does() -> None:
    # It once read "saves a groups.getById call at start", while a start without it stops.
    [line] = [line for line in (ROOT / "settings.yaml").read_text(encoding="utf-8").splitlines()
              if line.strip().startswith("group_id:")]
    assert "required when enabled" in line and "getById" not in line
