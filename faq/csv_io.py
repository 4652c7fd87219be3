"""CSV import and export: institutions keep their FAQs in spreadsheets."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from pathlib import Path

from faq.loader import KbError, Problem
from faq.model import Category, Entry, KnowledgeBase

COLUMNS = ("id", "category", "question", "variants", "keywords", "answer")
SEPARATOR = " | "


def to_csv(kb: KnowledgeBase) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in kb.entries:
        variants, keywords = SEPARATOR.join(e.variants), SEPARATOR.join(e.keywords)
        writer.writerow((e.id, e.category, e.question, variants, keywords, e.answer))
    return out.getvalue()


def export_csv(kb: KnowledgeBase, path: Path) -> None:
    # The BOM lets Excel open the file as UTF-8 instead of the local code page.
    path.write_text(to_csv(kb), encoding="utf-8-sig")


def parse_csv(text: str, source: str, base: KnowledgeBase | None = None) -> KnowledgeBase:
    """Entries from CSV; categories and links come from `base` when it knows them."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise KbError([Problem(source, "", f"missing column {c!r}") for c in missing])
    entries: list[Entry] = []
    problems: list[Problem] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, 2):
        entry = _entry(row, base, problems, source, line)
        if entry is not None and entry.id in seen:
            problems.append(Problem(source, entry.id, f"line {line}: duplicate id"))
        elif entry is not None:
            seen.add(entry.id)
            entries.append(entry)
    if problems:
        raise KbError(problems)
    return KnowledgeBase(
        categories=_categories(entries, base),
        entries=tuple(entries),
        institution=base.institution if base else "",
    )


def import_csv(path: Path, base: KnowledgeBase | None = None) -> KnowledgeBase:
    return parse_csv(path.read_text(encoding="utf-8-sig"), str(path), base)


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (cell or "").split(SEPARATOR.strip()) if p.strip())


def _entry(
    row: Mapping[str, str | None],
    base: KnowledgeBase | None,
    problems: list[Problem],
    source: str,
    line: int,
) -> Entry | None:
    cells = {c: (row.get(c) or "").strip() for c in COLUMNS}
    empty = [c for c in ("id", "category", "question", "answer") if not cells[c]]
    for column in empty:
        problems.append(Problem(source, cells["id"], f"line {line}: empty {column}"))
    if empty:
        return None
    known = base.entry(cells["id"]) if base else None
    return Entry(
        id=cells["id"],
        category=cells["category"],
        question=cells["question"],
        answer=cells["answer"],
        variants=_split(cells["variants"]),
        keywords=_split(cells["keywords"]),
        links=known.links if known else (),
    )


def _categories(entries: list[Entry], base: KnowledgeBase | None) -> tuple[Category, ...]:
    categories = {c.id: c for c in base.categories} if base else {}
    for entry in entries:
        categories.setdefault(entry.category, Category(entry.category, entry.category))
    return tuple(categories.values())
