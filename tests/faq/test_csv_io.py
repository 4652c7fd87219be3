from __future__ import annotations

from pathlib import Path

import pytest

from faq.csv_io import export_csv, import_csv, parse_csv, to_csv
from faq.loader import KbError, load_kb
from faq.model import Category, Entry, KnowledgeBase, Link
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
    header = path.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == ";".join((*FIELDS, "links", "category_title", "category_queue",
                               "institution"))
    assert _columns(import_csv(path, rehab_kb)) == _columns(rehab_kb)


def test_an_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(KbError) as caught:
        import_csv(tmp_path / "absent.csv")
    [problem] = caught.value.problems
    assert problem.reason.startswith("cannot read: ")


def test_round_trip_without_base_keeps_links_institution_and_categories(
    rehab_kb, tmp_path: Path
) -> None:
    csv_path = tmp_path / "faq.csv"
    export_csv(rehab_kb, csv_path)
    imported = import_csv(csv_path)
    assert imported.institution == rehab_kb.institution
    assert imported.categories == rehab_kb.categories
    assert imported.entries == rehab_kb.entries
    yaml_path = tmp_path / "faq.yaml"
    yaml_path.write_text(to_yaml(imported), encoding="utf-8")
    assert load_kb([yaml_path]) == rehab_kb


def test_a_category_without_entries_survives_the_round_trip() -> None:
    kb = KnowledgeBase(
        categories=(Category("help", "Помощь", "reception"), Category("new", "Новое")),
        entries=(Entry("x", "help", "Вопрос?", "Ответ"),),
    )
    assert parse_csv(to_csv(kb), "in.csv").categories == kb.categories


def test_links_column_is_title_then_url_separated_by_bars() -> None:
    text = (
        "id,category,question,variants,keywords,answer,links\n"
        'x,c,Q?,,,A,"Госуслуги https://www.gosuslugi.ru/ | Горячая линия tel:+78001234567"\n'
        "y,c,Q2?,,,A2,\n"
    )
    x, y = parse_csv(text, "in.csv").entries
    assert x.links == (Link("Госуслуги", "https://www.gosuslugi.ru/"),
                       Link("Горячая линия", "tel:+78001234567"))
    assert y.links == ()


def test_a_links_column_overrides_the_base_and_its_absence_keeps_the_base(rehab_kb) -> None:
    entry = rehab_kb.entry("center.address")
    row = f"{entry.id},{entry.category},Q?,,,A"
    without = parse_csv(f"id,category,question,variants,keywords,answer\n{row}\n", "a", rehab_kb)
    assert without.entries[0].links == entry.links
    cleared = parse_csv(
        f"id,category,question,variants,keywords,answer,links\n{row},\n", "a", rehab_kb)
    assert cleared.entries[0].links == ()


def test_bad_links_and_conflicting_institutions_are_problems() -> None:
    text = (
        "id,category,question,variants,keywords,answer,links,institution\n"
        "x,c,Q?,,,A,https://no-title.example,Центр\n"
        "y,c,Q?,,,A,Сайт www.example.org,Другой центр\n"
    )
    with pytest.raises(KbError) as caught:
        parse_csv(text, "in.csv")
    reasons = [p.reason for p in caught.value.problems]
    assert reasons[0].startswith("line 2: bad link 1 'https://no-title.example': missing title")
    assert reasons[1].startswith("line 3: bad link 1 'Сайт www.example.org': url must start")
    assert reasons[2] == "different institutions: 'Центр' (line 2), 'Другой центр' (line 3)"


def test_the_file_titles_categories_and_the_base_keeps_the_rest(rehab_kb) -> None:
    text = (
        "id,category,question,variants,keywords,answer,category_title\n"
        ",rehab,,,,,Реабилитация и абилитация\n"
        "x,rehab,Q?,,,A,\n"
    )
    kb = parse_csv(text, "in.csv", rehab_kb)
    assert kb.category("rehab") == Category("rehab", "Реабилитация и абилитация", "rehab")
    assert kb.category("center") == rehab_kb.category("center")
    assert kb.institution == rehab_kb.institution


def test_a_row_with_entry_cells_but_no_id_is_a_problem_not_a_category_row() -> None:
    text = "id,category,question,variants,keywords,answer\n,help,,Вариант,,\n"
    with pytest.raises(KbError) as caught:
        parse_csv(text, "in.csv")
    assert [p.reason for p in caught.value.problems] == [
        "line 2: empty id", "line 2: empty question", "line 2: empty answer"]


def test_formula_shaped_cells_are_defused_and_come_back_as_written() -> None:
    evil = '=HYPERLINK("http://evil.example/x","нажми")'
    kb = KnowledgeBase(
        categories=(Category("help", "Помощь"),),
        entries=(Entry("x", "help", evil, "- Паспорт\n- СНИЛС", variants=("+7 это код",)),
                 Entry("y", "help", "Обычный вопрос?", "'цитата' остаётся"),),
    )
    text = to_csv(kb, ";")
    assert "\"'=HYPERLINK(" in text and "\"'- Паспорт" in text and ";'+7 это код;" in text
    assert "'цитата' остаётся" in text and "''цитата" not in text
    assert parse_csv(text, "in.csv").entries == kb.entries
