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
