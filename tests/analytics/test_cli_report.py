"""`priemnaya report` and `priemnaya retention run` on a generated log in a SQLite file."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from priemnaya import cli_reports
from storage.engine import build_engine, build_sessions
from storage.models import AuditEntry, Conversation, Message
from tests.analytics.generator import t, write_log


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli_reports.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.handler(args))


async def _fill(url: str) -> None:
    engine = build_engine(url)
    await write_log(build_sessions(engine))
    await engine.dispose()


@pytest.fixture
def settings_file(tmp_path: Path, sqlite_template: Path) -> Path:
    db = tmp_path / "report.db"
    shutil.copy(sqlite_template, db)
    asyncio.run(_fill(f"sqlite+aiosqlite:///{db}"))
    path = tmp_path / "settings.yaml"
    path.write_text(f"database:\n  url: sqlite+aiosqlite:///{db}\n"
                    "retention:\n  raw_text_days: 1\n", encoding="utf-8")
    return path


def audit_rows(settings_file: Path) -> list[tuple[str, str, str]]:
    url = settings_file.read_text().split("url: ")[1].splitlines()[0]

    async def read() -> list[tuple[str, str, str]]:
        engine = build_engine(url)
        async with build_sessions(engine)() as s:
            rows = (await s.scalars(select(AuditEntry))).all()
        await engine.dispose()
        return [(r.actor, r.action, r.object_id) for r in rows]

    return asyncio.run(read())


def month(fmt: str, out: Path, settings: Path) -> list[str]:
    return ["report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", fmt,
            "--out", str(out), "--settings", str(settings)]


def test_html_report_is_standalone_with_figures_charts_and_definitions(
    tmp_path: Path, settings_file: Path
) -> None:
    out = tmp_path / "report.html"
    assert run_cli(month("html", out, settings_file)) == 0
    assert [a[1:] for a in audit_rows(settings_file)] == [("export", "html")]
    html = out.read_text(encoding="utf-8")
    assert "<th>Обращений</th><td>6</td>" in html
    assert "33,3 % <span class=\"muted\">(2 из 6)</span>" in html
    assert "<th>Средняя оценка</th><td>4,5; оценили" in html
    assert html.count('src="data:image/svg+xml;base64,') == 4
    assert "<h2>Определения</h2>" in html
    assert "<link" not in html and "<script" not in html  # nothing to fetch


def test_csv_and_xlsx_reports(tmp_path: Path, settings_file: Path) -> None:
    csv_out, xlsx_out = tmp_path / "r.csv", tmp_path / "r.xlsx"
    assert run_cli(month("csv", csv_out, settings_file)) == 0
    lines = csv_out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("№ обращения;Канал;Категория;Очередь")
    assert lines[8].startswith("День;Обращения")
    assert len(lines) == 1 + 6 + 1 + 1 + 30
    assert run_cli(month("xlsx", xlsx_out, settings_file)) == 0
    book = load_workbook(xlsx_out, read_only=True)
    assert book.sheetnames == ["Обращения", "По дням"]
    daily = list(book["По дням"].iter_rows(values_only=True))
    assert daily[2] == (datetime(2026, 11, 2), 2, 4, 0, 2)


def test_a_bad_date_is_a_clear_usage_error(settings_file: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        run_cli(["report", "--from", "2026-13-01", "--to", "2026-11-30"])
    assert exc.value.code == 2
    assert "is not a date YYYY-MM-DD" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_cli(["report", "--from", "9999-12-31", "--to", "9999-12-31"])
    assert "the year must be" in capsys.readouterr().err


def test_an_unmigrated_database_is_a_clear_error(tmp_path: Path, capsys) -> None:
    settings = tmp_path / "s.yaml"
    settings.write_text(f"database:\n  url: sqlite+aiosqlite:///{tmp_path}/empty.db\n",
                        encoding="utf-8")
    assert run_cli(month("html", tmp_path / "r.html", settings)) == 1
    assert "is the database migrated?" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(("name", "reason"), [("absent/r.html", "No such file or directory"),
                                               (".", "Is a directory")])
def test_an_unwritable_out_path_is_one_line_and_exit_2(
    tmp_path: Path, settings_file: Path, capsys: pytest.CaptureFixture[str], name: str,
    reason: str,
) -> None:
    out = tmp_path / name
    assert run_cli(month("html", out, settings_file)) == 2
    assert capsys.readouterr().err == f"priemnaya: cannot write {out}: {reason}\n"


def test_retention_run_erases_old_texts(settings_file: Path, capsys) -> None:
    url = settings_file.read_text().split("url: ")[1].splitlines()[0]
    before = asyncio.run(_old_texts(url))
    assert before > 0
    # A dry run counts and changes nothing.
    assert run_cli(["retention", "run", "--dry-run", "--settings", str(settings_file)]) == 0
    counted = capsys.readouterr().out
    assert counted.startswith("would erase texts: ")
    assert asyncio.run(_old_texts(url)) == before

    assert run_cli(["retention", "run", "--settings", str(settings_file)]) == 0
    assert capsys.readouterr().out == counted.replace("would erase", "erased")

    assert asyncio.run(_old_texts(url)) == 0  # the machine's clock is past 2026-11-20


async def _old_texts(url: str) -> int:
    engine = build_engine(url)
    async with build_sessions(engine)() as s:
        # A conversation still open keeps its texts, however old (analytics/retention.py).
        n = await s.scalar(select(func.count()).select_from(Message).join(
            Conversation, Conversation.id == Message.conversation_id).where(
            Message.text != "", Message.created_at < t("11-20 00:00"),
            Conversation.state == "closed"))
    await engine.dispose()
    return int(n or 0)


def test_reports_name_categories_by_their_titles_as_the_admin_pages_do(
    tmp_path: Path, settings_file: Path, capsys
) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text("categories:\n  - {id: benefits, title: Пособия и выплаты}\n"
                  "  - {id: housing, title: Оплата ЖКУ}\n"
                  "entries:\n  - {id: a, category: housing, question: Субсидия, answer: Да.}\n",
                  encoding="utf-8")
    settings_file.write_text(settings_file.read_text() + f"faq:\n  paths: [{kb}]\n")
    csv_out, xlsx_out = tmp_path / "r.csv", tmp_path / "r.xlsx"
    assert run_cli(month("csv", csv_out, settings_file)) == 0
    rows = [line.split(";") for line in csv_out.read_text(encoding="utf-8-sig").splitlines()]
    assert rows[0][2] == "Категория"
    assert {r[2] for r in rows[1:7]} >= {"Пособия и выплаты", "Оплата ЖКУ"}
    assert not {r[2] for r in rows[1:7]} & {"benefits", "housing"}
    assert run_cli(month("xlsx", xlsx_out, settings_file)) == 0
    sheet = list(load_workbook(xlsx_out, read_only=True)["Обращения"].iter_rows(values_only=True))
    assert {r[2] for r in sheet[1:]} >= {"Пособия и выплаты", "Оплата ЖКУ"}
    html_out = tmp_path / "r.html"
    assert run_cli(month("html", html_out, settings_file)) == 0
    assert "<td>Пособия и выплаты</td>" in html_out.read_text(encoding="utf-8")
    assert capsys.readouterr().err.count("warning") == 0


def test_a_broken_knowledge_base_leaves_the_report_with_category_ids_and_a_warning(
    tmp_path: Path, settings_file: Path, capsys
) -> None:
    settings_file.write_text(settings_file.read_text()
                             + f"faq:\n  paths: [{tmp_path / 'absent.yaml'}]\n")
    assert run_cli(month("csv", tmp_path / "r.csv", settings_file)) == 0
    err = capsys.readouterr().err.splitlines()
    absent = tmp_path / "absent.yaml"
    assert err[0].startswith("priemnaya: warning: categories shown by id, the knowledge base "
                             f"faq.paths is not usable: {absent}: -: cannot read")


@pytest.mark.parametrize(("override", "error"), [
    ("{% if %}", "line 1: Expected an expression, got 'end of statement block'"),
    ("{{ data.nothing_here() }}", "UndefinedError: "),
])
def test_a_broken_report_override_gives_way_to_the_built_in_report_with_a_warning(
    tmp_path: Path, settings_file: Path, capsys, override: str, error: str
) -> None:
    (tmp_path / "web").mkdir()
    broken = tmp_path / "web" / "admin_report.html"
    broken.write_text(override, encoding="utf-8")
    settings_file.write_text(settings_file.read_text()
                             + f"templates:\n  override_dir: {tmp_path}\n")
    out = tmp_path / "report.html"
    assert run_cli(month("html", out, settings_file)) == 0
    assert "<th>Обращений</th><td>6</td>" in out.read_text(encoding="utf-8")
    err = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(err) == 1
    assert err[0].startswith(f"priemnaya: warning: {broken} fails, the built-in report "
                             f"template is used: {error}")
