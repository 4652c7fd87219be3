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
# Excel with Russian regional settings separates columns with ";", and some tools with a tab.
DELIMITERS = (",", ";", "\t")


def to_csv(kb: KnowledgeBase, delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(COLUMNS)
    for e in kb.entries:
        variants, keywords = SEPARATOR.join(e.variants), SEPARATOR.join(e.keywords)
        writer.writerow((e.id, e.category, e.question, variants, keywords, e.answer))
    return out.getvalue()


def export_csv(kb: KnowledgeBase, path: Path, delimiter: str = ",") -> None:
    # The BOM lets Excel open the file as UTF-8 instead of the local code page.
    path.write_text(to_csv(kb, delimiter), encoding="utf-8-sig")


def decode_csv(data: bytes) -> str:
    """UTF-8, with or without a BOM; else Windows-1251, which Excel on a Russian Windows
    writes for "CSV (разделители — запятые)"."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251", errors="replace")


def _delimiter(text: str) -> str:
    """The delimiter whose split of the header line names the columns (else a comma)."""
    header = text.split("\n", 1)[0]
    for delimiter in DELIMITERS:
        names = {_column(n) for n in next(csv.reader([header], delimiter=delimiter), [])}
        if set(COLUMNS) <= names:
            return delimiter
    return max(DELIMITERS, key=header.count) if header else ","


def _column(name: str) -> str:
    # Spreadsheet users write "ID" or "Answer " as readily as "answer".
    return name.strip().lower()


def parse_csv(text: str, source: str, base: KnowledgeBase | None = None) -> KnowledgeBase:
    """Entries from CSV; categories and links come from `base` when it knows them."""
    reader = csv.DictReader(io.StringIO(text), delimiter=_delimiter(text))
    reader.fieldnames = [_column(n) for n in reader.fieldnames or ()]
    missing = [c for c in COLUMNS if c not in reader.fieldnames]
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
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KbError([Problem(str(path), "", f"cannot read: {exc.strerror or exc}")]) from None
    return parse_csv(decode_csv(data), str(path), base)


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
