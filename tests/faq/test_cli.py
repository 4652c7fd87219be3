from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from faq import cli
from faq.loader import load_kb
from tests.fakes import NEW_SYN_REASON

from .conftest import REHAB

KEYS = {
    "cases",
    "in_scope",
    "out_of_scope",
    "answer_accuracy",
    "clarify_hit_rate",
    "resolution_rate",
    "wrong_answer_rate",
    "oos_false_answer_rate",
    "oos_clarify_rate",
    "latency_p50_ms",
    "latency_p99_ms",
}


def test_check_ok_prints_a_summary(capsys) -> None:
    assert cli.main(["check", str(REHAB)]) == 0
    summary, *hint = capsys.readouterr().out.splitlines()
    assert summary == "ok: 13 entries in 3 categories"
    assert [h.split(" (")[0] for h in hint] == ["hint: 9 entries have fewer than 2 variants"]


def test_check_hints_at_entries_with_few_variants_without_failing(tmp_path: Path,
                                                                  capsys) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text(
        "categories:\n  - {id: c, title: C}\nentries:\n"
        "  - {id: a, category: c, question: Q1, answer: A, variants: [V1, V2]}\n"
        "  - {id: b, category: c, question: Q2, answer: A, variants: [V3]}\n"
        "  - {id: d, category: c, question: Q3, answer: A}\n",
        encoding="utf-8",
    )
    assert cli.main(["check", str(kb)]) == 0
    ok, hint = capsys.readouterr().out.splitlines()
    assert ok == "ok: 3 entries in 1 categories"
    assert hint.startswith("hint: 2 entries have fewer than 2 variants (b, d); ")


def test_check_hints_at_a_wording_two_entries_share_and_lists_the_files(
        tmp_path: Path, capsys) -> None:
    (tmp_path / "archive").mkdir()
    (tmp_path / "main.yaml").write_text(
        "categories:\n  - {id: c, title: C}\nentries:\n"
        "  - {id: a, category: c, question: 'Как получить справку?', answer: A,"
        " variants: [справка о доходах, V2]}\n", encoding="utf-8")
    (tmp_path / "archive" / "old.yaml").write_text(
        "entries:\n  - {id: b, category: c, question: 'Справка о доходах!', answer: B,"
        " variants: [V3, V4]}\n", encoding="utf-8")
    assert cli.main(["check", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == (f"read 2 files: {tmp_path / 'archive' / 'old.yaml'}, "
                      f"{tmp_path / 'main.yaml'}")
    assert out[2].startswith("hint: «Справка о доходах!» is a question or variant of b and a;")


def test_check_reads_synonyms_files_too(tmp_path: Path, capsys) -> None:
    synonyms = tmp_path / "region.yaml"
    synonyms.write_text("groups:\n  - [пенсионное удостоверение, пенсионка\n  - [a, b]\n",
                        encoding="utf-8")
    assert cli.main(["check", str(REHAB), "--synonyms", str(synonyms)]) == 2
    assert capsys.readouterr().out.startswith(
        f"{synonyms}: -: bad YAML in the synonyms file: line 2 «- [пенсионное удостоверение, "
        "пенсионка»: a list in square brackets («[…]») opened here is not closed with «]»")


def test_check_prints_each_problem_and_exits_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("entries:\n  - {id: a, category: c, question: Q}\n", encoding="utf-8")
    assert cli.main(["check", str(bad)]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"{bad}: a: missing field 'answer'",
        f"{bad}: a: unknown category 'c'",
    ]


@pytest.mark.parametrize("text", ["", "\n  \n", "# only a comment\n"])
def test_check_fails_on_an_empty_file(tmp_path: Path, capsys, text: str) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text(text, encoding="utf-8")
    assert cli.main(["check", str(empty)]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"{empty}: -: the file is empty (or holds only comments): restore its entries, or "
        "delete the file if it is meant to go"]


def test_check_fails_on_a_knowledge_base_without_entries(tmp_path: Path, capsys) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text("categories:\n  - {id: c, title: Раздел}\nentries: []\n", encoding="utf-8")
    assert cli.main(["check", str(tmp_path)]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path}: -: no entries: the knowledge base has no questions to answer"]


def test_an_empty_file_beside_others_is_blamed_alone(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.yaml").write_text(REHAB.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text("", encoding="utf-8")
    assert cli.main(["check", str(tmp_path)]) == 2
    assert [line.split(": ")[0] for line in capsys.readouterr().out.splitlines()] == [
        str(tmp_path / "b.yaml")]


def test_check_reports_an_impossible_date_with_its_line(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: []\nentries:\n  - id: a\n    answer: 2026-13-01\n",
                   encoding="utf-8")
    assert cli.main(["check", str(bad)]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"{bad}: -: bad YAML: line 4 «answer: 2026-13-01»: a value that looks like a date "
        "but is not one: put it in quotes (YAML: line 4, column 13: invalid date "
        "'2026-13-01': month must be in 1..12)"
    ]


def test_ask_prints_decision_and_candidates(capsys) -> None:
    assert cli.main(["ask", "--kb", str(REHAB), "какой телефон регистратуры"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == ["decision: answer", "  the client gets the answer of entry 1"]
    assert "center.phone" in lines[2] and "Какой телефон регистратуры?" in lines[2]


def test_eval_prints_one_json_object_with_exact_keys(tmp_path: Path, capsys) -> None:
    cases = tmp_path / "cases.jsonl"
    rows = [
        {"text": "какой телефон регистратуры", "expected": "center.phone"},
        {"text": "рецепт борща с фасолью", "expected": None},
    ]
    cases.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    assert cli.main(["eval", "--kb", str(REHAB), "--cases", str(cases)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == KEYS
    assert (report["answer_accuracy"], report["oos_false_answer_rate"]) == (1.0, 0.0)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"text": "ходунки", "expected": null}\nnot json\n', "line 2: not JSON"),
        ("[1, 2]\n", "line 1: need text and expected"),
        ('{"text": 5, "expected": null}\n', "line 1: need text and expected"),
        (None, "No such file"),
        ("", "no cases: write one JSON object a line"),
        ("\n  \n", "no cases: write one JSON object a line"),
        ('{"text": " ", "expected": null}\n', "line 1: empty text"),
    ],
)
def test_eval_refuses_a_bad_cases_file_with_the_line(
    tmp_path: Path, capsys, content: str | None, reason: str
) -> None:
    cases = tmp_path / "cases.jsonl"
    if content is not None:
        cases.write_text(content, encoding="utf-8")
    assert cli.main(["eval", "--kb", str(REHAB), "--cases", str(cases)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and reason in captured.err
    assert len(captured.err.splitlines()) == 1


@pytest.mark.parametrize("text", ["", "   \t "])
def test_ask_refuses_an_empty_text_with_one_line(text: str, capsys) -> None:
    assert cli.main(["ask", "--kb", str(REHAB), text]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "ask: the text is empty: give the client's message to match\n"


def test_eval_reads_a_spreadsheet_export_with_bom_and_crlf(tmp_path: Path, capsys) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_bytes('\ufeff{"text": "рецепт борща", "expected": null}\r\n'.encode())
    assert cli.main(["eval", "--kb", str(REHAB), "--cases", str(cases)]) == 0
    assert json.loads(capsys.readouterr().out)["out_of_scope"] == 1


def test_eval_names_expected_ids_the_kb_lacks_and_still_scores(tmp_path: Path, capsys) -> None:
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "ходунки напрокат", "expected": "no.such-entry"}\n',
                     encoding="utf-8")
    assert cli.main(["eval", "--kb", str(REHAB), "--cases", str(cases)]) == 0
    captured = capsys.readouterr()
    assert "1 expected id(s) not in the knowledge base: no.such-entry" in captured.err
    report = json.loads(captured.out)
    assert report["in_scope"] == 1 and report["answer_accuracy"] == 0.0


def test_export_then_import_round_trip(tmp_path: Path, capsys) -> None:
    out_csv, out_yaml = tmp_path / "faq.csv", tmp_path / "faq.yaml"
    assert cli.main(["export", "--kb", str(REHAB), str(out_csv)]) == 0
    assert (
        cli.main(["import", "--kb", str(out_yaml), "--categories", str(REHAB), str(out_csv)]) == 0
    )
    assert cli.main(["check", str(out_yaml)]) == 0
    assert "ok: 13 entries in 3 categories" in capsys.readouterr().out.splitlines()


def test_import_takes_categories_from_a_file_without_entries_into_an_empty_file(
        tmp_path: Path) -> None:
    csv_path, target = tmp_path / "faq.csv", tmp_path / "faq.yaml"
    categories = tmp_path / "categories.yaml"
    categories.write_text("categories:\n  - {id: help, title: Помощь, queue: general}\n",
                          encoding="utf-8")
    csv_path.write_text("id;category;question;variants;keywords;answer\n"
                        "help.a;help;Вопрос?;;;Ответ.\n", encoding="utf-8")
    target.write_text("", encoding="utf-8")  # made ready for the import
    assert cli.main(["import", "--kb", str(target), "--categories", str(categories),
                     str(csv_path)]) == 0
    assert load_kb([target]).categories[0].queue == "general"


def test_export_then_import_into_a_new_file_loses_nothing(tmp_path: Path) -> None:
    out_csv, out_yaml = tmp_path / "faq.csv", tmp_path / "faq.yaml"
    assert cli.main(["export", "--kb", str(REHAB), "--semicolon", str(out_csv)]) == 0
    assert cli.main(["import", "--kb", str(out_yaml), str(out_csv)]) == 0
    assert load_kb([out_yaml]) == load_kb([REHAB])


def test_import_over_a_commented_file_says_so_and_keeps_the_old_one(tmp_path: Path,
                                                                     capsys) -> None:
    kb, out_csv = tmp_path / "faq.yaml", tmp_path / "faq.csv"
    kb.write_text("# Сверено с юристом 01.12\n" + REHAB.read_text(encoding="utf-8"),
                  encoding="utf-8")
    old = kb.read_text(encoding="utf-8")
    assert cli.main(["export", "--kb", str(kb), str(out_csv)]) == 0
    capsys.readouterr()
    assert cli.main(["import", "--kb", str(kb), str(out_csv)]) == 0
    out = capsys.readouterr().out.splitlines()
    comments = sum(1 for line in old.splitlines() if line.lstrip().startswith("#"))
    assert out[-1] == (f"note: the {comments} comment line(s) of the old faq.yaml are not in "
                       "the new one (the spreadsheet has no place for them); the old file is "
                       "kept as faq.yaml.bak")
    assert (tmp_path / "faq.yaml.bak").read_text(encoding="utf-8") == old
    assert load_kb([kb]) == load_kb([tmp_path / "faq.yaml.bak"])


def test_import_and_export_report_file_errors_and_exit_2(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "absent.csv"
    assert cli.main(["import", "--kb", str(tmp_path / "kb.yaml"), str(missing)]) == 2
    assert capsys.readouterr().err == f"{missing}: -: cannot read: No such file or directory\n"
    unwritable = tmp_path / "no-such-folder" / "faq.csv"
    assert cli.main(["export", "--kb", str(REHAB), "--semicolon", str(unwritable)]) == 2
    assert capsys.readouterr().err.startswith(f"{unwritable}: cannot write: ")


def test_register_adds_a_faq_command_to_a_host_cli() -> None:
    parser = argparse.ArgumentParser(prog="priemnaya")
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["faq", "check", str(REHAB)])
    assert args.func(args) == 0


def _served_folder(tmp_path: Path) -> Path:
    """A served folder like the service's: categories, entries, and an accepted suggestion."""
    folder = tmp_path / "kb"
    folder.mkdir()
    (folder / "categories.yaml").write_text(
        "categories:\n  - {id: help, title: Помощь}\n", encoding="utf-8")
    (folder / "main.yaml").write_text(
        "entries:\n  - {id: hours, category: help, question: \"Часы работы?\", "
        "answer: С 9 до 18.}\n",
        encoding="utf-8")
    (folder / "from_specialists.yaml").write_text(
        "entries:\n  - {id: help.passport, category: help, question: \"Нужен ли паспорт?\", "
        "answer: Да.}\n", encoding="utf-8")
    return folder


def test_import_refuses_an_id_another_served_file_holds(tmp_path: Path, capsys) -> None:
    folder = _served_folder(tmp_path)
    before = (folder / "main.yaml").read_text(encoding="utf-8")
    csv_file = tmp_path / "faq.csv"
    assert cli.main(["export", "--kb", str(folder), str(csv_file)]) == 0
    capsys.readouterr()
    target = folder / "main.yaml"
    args = ["import", "--kb", str(target), "--served-with", str(folder), str(csv_file)]
    assert cli.main(args) == 2
    assert capsys.readouterr().err == (
        f"{target}: not written: 1 entry id(s) already in other knowledge-base files: "
        f"help.passport (in {folder / 'from_specialists.yaml'}); "
        "remove them from the CSV or from those files\n")
    assert target.read_text(encoding="utf-8") == before


def test_import_into_a_served_folder_leaves_it_loadable(tmp_path: Path, capsys) -> None:
    folder = _served_folder(tmp_path)
    csv_file = tmp_path / "faq.csv"
    csv_file.write_text(
        "id,category,question,variants,keywords,answer\n"
        "hours,help,Когда вы работаете?,,,С 9 до 18.\n", encoding="utf-8")
    target = folder / "main.yaml"
    args = ["import", "--kb", str(target), "--served-with", str(folder), str(csv_file)]
    assert cli.main(args) == 0
    kb = load_kb([folder])
    assert kb.entry("hours").question == "Когда вы работаете?"
    assert kb.entry("help.passport") is not None
    assert kb.category("help").title == "Помощь"


def test_import_outside_the_served_files_checks_only_its_own_file(tmp_path: Path) -> None:
    folder = _served_folder(tmp_path)
    csv_file = tmp_path / "faq.csv"
    assert cli.main(["export", "--kb", str(folder), str(csv_file)]) == 0
    copy = tmp_path / "copy.yaml"
    args = ["import", "--kb", str(copy), "--served-with", str(folder), str(csv_file)]
    assert cli.main(args) == 0
    assert len(load_kb([copy]).entries) == 2


def test_import_of_utf8_with_a_stray_byte_writes_nothing_and_names_the_line(
    tmp_path: Path, capsys
) -> None:
    out_csv, out_yaml = tmp_path / "faq.csv", tmp_path / "faq.yaml"
    assert cli.main(["export", "--kb", str(REHAB), "--semicolon", str(out_csv)]) == 0
    data = out_csv.read_bytes().removeprefix(b"\xef\xbb\xbf")
    at = data.index("Паспорт, СНИЛС".encode())
    out_csv.write_bytes(data[:at] + b"\xb9" + data[at:])
    capsys.readouterr()
    assert cli.main(["import", "--kb", str(out_yaml), str(out_csv)]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"{out_csv}: rehab.documents: line 6: answer: unreadable byte 0xB9")
    assert not out_yaml.exists()


def test_output_to_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # `faq ask … | head -1`: the reader is gone before the answer is written.
    ask = [sys.executable, "-m", "faq.cli", "ask", "--kb", str(REHAB), "курс реабилитации"]
    with subprocess.Popen(ask, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          cwd=Path(__file__).resolve().parents[2]) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        error = process.stderr.read()
    assert (process.returncode, error) == (1, b"")


def test_ask_with_a_broken_synonyms_file_names_it_in_one_line(tmp_path: Path, capsys) -> None:
    synonyms = tmp_path / "synonyms.yaml"
    synonyms.write_text("groups:\n  - [ЕГВ, губеровские\n", encoding="utf-8")
    assert cli.main(["ask", "--kb", str(REHAB), "--synonyms", str(synonyms), "телефон"]) == 2
    assert capsys.readouterr().err == (
        f"{synonyms}: -: bad YAML in the synonyms file: {NEW_SYN_REASON}\n")
