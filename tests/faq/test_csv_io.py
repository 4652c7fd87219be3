from __future__ import annotations

from pathlib import Path

import pytest

from faq.csv_io import export_csv, import_csv, parse_csv
from faq.loader import KbError, load_kb
from faq.writer import to_yaml

FIELDS = ("id", "category", "question", "variants", "keywords", "answer")


def _columns(kb):
    return [tuple(getattr(e, f) for f in FIELDS) for e in kb.entries]


def test_round_trip_csv_yaml_csv_is_lossless(rehab_kb, tmp_path: Path) -> None:
    csv_path = tmp_path / "faq.csv"
    export_csv(rehab_kb, csv_path)
    imported = import_csv(csv_path, rehab_kb)
    yaml_path = tmp_path / "faq.yaml"
    yaml_path.write_text(to_yaml(imported), encoding="utf-8")
    reloaded = load_kb([yaml_path])
    assert _columns(reloaded) == _columns(rehab_kb)
    assert reloaded.categories == rehab_kb.categories
    assert reloaded.entry("center.address").links == rehab_kb.entry("center.address").links


def test_without_base_categories_are_made_from_ids() -> None:
    text = 'id,category,question,variants,keywords,answer\nx,help,Q?,A | B,k,"Line 1\nLine 2"\n'
    kb = parse_csv(text, "in.csv")
    assert [(c.id, c.title) for c in kb.categories] == [("help", "help")]
    assert kb.entries[0].variants == ("A", "B")
    assert kb.entries[0].answer == "Line 1\nLine 2"


def test_missing_cells_and_columns_are_problems() -> None:
    with pytest.raises(KbError) as caught:
        parse_csv("id,category,question,variants,keywords,answer\nx,c,,,,A\n", "in.csv")
    assert [p.reason for p in caught.value.problems] == ["line 2: empty question"]
    with pytest.raises(KbError):
        parse_csv("id,question\n", "in.csv")


def test_excel_csv_of_a_russian_windows_is_read(tmp_path: Path) -> None:
    # Excel's "CSV (разделители — запятые)" there: Windows-1251, ";" and CRLF; headers as typed.
    text = (
        "ID;Category;Question;Variants;Keywords;Answer \r\n"
        "family.allowance;family;Как оформить пособие?;Пособие — как получить | Куда подавать;"
        "пособие;\"Через Госуслуги; или в МФЦ.\"\r\n"
    )
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("cp1251"))
    [entry] = import_csv(path).entries
    assert (entry.id, entry.category, entry.question) == (
        "family.allowance", "family", "Как оформить пособие?")
    assert entry.variants == ("Пособие — как получить", "Куда подавать")
    assert entry.answer == "Через Госуслуги; или в МФЦ."


def test_tab_separated_utf8_is_read() -> None:
    text = "id\tcategory\tquestion\tvariants\tkeywords\tanswer\nx\tc\tВопрос?\t\t\tОтвет\n"
    assert [e.answer for e in parse_csv(text, "in.tsv").entries] == ["Ответ"]


def test_semicolon_export_round_trips(rehab_kb, tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    export_csv(rehab_kb, path, ";")
    assert path.read_text(encoding="utf-8-sig").splitlines()[0] == ";".join(FIELDS)
    assert _columns(import_csv(path, rehab_kb)) == _columns(rehab_kb)


def test_an_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(KbError) as caught:
        import_csv(tmp_path / "absent.csv")
    [problem] = caught.value.problems
    assert problem.reason.startswith("cannot read: ")
