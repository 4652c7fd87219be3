"""CSV import and export: institutions keep their FAQs in spreadsheets."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from faq.csv_decode import SAVE_AS, decode_csv, unreadable
from faq.loader import KbError, Problem, parse_link
from faq.model import Category, Entry, KnowledgeBase, Link

COLUMNS = ("id", "category", "question", "variants", "keywords", "answer")
# Optional: older files without them still import, and then keep what `base` knows.
EXTRA_COLUMNS = ("links", "category_title", "category_queue", "institution")
SEPARATOR = " | "
# Spreadsheet users also put each variant on its own line of the cell (Alt+Enter in Excel).
_PARTS = re.compile(r"[|\r\n]")
# A word of a link's title that is an address: two links run together («… ; …»).
_ADDRESS = re.compile(r"(?:https?://|tel:|mailto:)\S")
# Lines with unreadable text named one by one; the rest are counted.
_SHOWN_UNREADABLE = 10
# Excel with Russian regional settings separates columns with ";", and some tools with a tab.
DELIMITERS = (",", ";", "\t")
# A cell starting with one of these is a formula to Excel («=HYPERLINK(…)» from a client's text
# accepted into the knowledge base; «- Паспорт» reads as #ИМЯ?): written after an apostrophe,
# which an import takes off again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A row with none of these is a category row: it gives a category's title and queue.
_ENTRY_CELLS = ("id", "question", "variants", "keywords", "answer", "links")


def to_csv(kb: KnowledgeBase, delimiter: str = ",") -> str:
    """Category rows first (no id: they keep the categories' order, titles and queues even when
    a category has no entry yet), then one row per entry."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow((*COLUMNS, *EXTRA_COLUMNS))
    for c in kb.categories:
        writer.writerow(_defused(("", c.id, "", "", "", "", "", c.title, c.queue,
                                  kb.institution)))
    for e in kb.entries:
        variants, keywords = SEPARATOR.join(e.variants), SEPARATOR.join(e.keywords)
        links = SEPARATOR.join(to_link_text(link) for link in e.links)
        writer.writerow(_defused((e.id, e.category, e.question, variants, keywords, e.answer,
                                  links, "", "", kb.institution)))
    return out.getvalue()


def drafts_csv(drafts: Sequence[tuple[str, Sequence[str]]], delimiter: str = ";") -> str:
    """New entries to write, as `faq import` reads them: an id, the question and its variants
    filled in; category and answer left for the methodologist (import refuses them empty)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(COLUMNS)
    for number, (question, variants) in enumerate(drafts, 1):
        writer.writerow(_defused((f"new.question-{number}", "", question,
                                  SEPARATOR.join(variants), "", "")))
    return out.getvalue()


def _defused(cells: tuple[str, ...]) -> list[str]:
    return [f"'{cell}" if cell.startswith(_FORMULA_STARTS) else cell for cell in cells]


def _undefused(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_STARTS) else cell


def to_link_text(link: Link) -> str:
    # A URL has no spaces (the loader refuses them): the last word of a link cell is its URL.
    return f"{link.title} {link.url}"


def export_csv(kb: KnowledgeBase, path: Path, delimiter: str = ",") -> None:
    # The BOM lets Excel open the file as UTF-8 instead of the local code page.
    path.write_text(to_csv(kb, delimiter), encoding="utf-8-sig")


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


@dataclass(slots=True)
class _Reading:
    """What the rows said so far, and what was wrong with them."""

    source: str
    base: KnowledgeBase | None
    has_links: bool
    entries: list[Entry] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    categories: dict[str, Category] = field(default_factory=dict)
    institutions: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    unreadable_lines: int = 0

    def note(self, entry_id: str, line: int, reason: str) -> None:
        self.problems.append(Problem(self.source, entry_id, f"line {line}: {reason}"))


def parse_csv(text: str, source: str, base: KnowledgeBase | None = None) -> KnowledgeBase:
    """Entries from CSV; what the file's optional columns do not say comes from `base`."""
    delimiter = _delimiter(text)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        if (line := _unclosed_quote(text, delimiter)) is not None:
            raise KbError([Problem(source, "", f"line {line}: a quote (\") opened in this row "
                                   "is never closed, so the rest of the file was read as one "
                                   "cell: close it, or write a quote inside a text as two "
                                   "(\"\")")])
        return _parse(reader, source, base)
    except csv.Error as error:
        # Python's hint after " - " (universal-newline mode) is for programmers.
        what = str(error).split(" - ")[0]
        reason = f"line {reader.reader.line_num}: not readable as CSV ({what}): {SAVE_AS}"
        raise KbError([Problem(source, "", reason)]) from None


def _unclosed_quote(text: str, delimiter: str) -> int | None:
    """The line of the row whose quoted cell is never closed, or None. The reader takes such
    a cell to the end of the file and reports only the empty cells after it."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    start, before = 1, 0
    try:
        while next(reader, None) is not None:  # an unclosed cell makes its row the last one
            start, before = before + 1, reader.line_num
    except csv.Error:
        return None  # text the reader refuses: the reading proper names it with its line
    last_row = "".join(io.StringIO(text).readlines()[start - 1:])
    try:
        # Strict about the last row only: the lenient reader tolerates what earlier rows
        # may hold («"a"b»), and says nothing when the file ends inside quotes.
        for _ in csv.reader(io.StringIO(last_row), delimiter=delimiter, strict=True):
            pass
    except csv.Error as error:
        return start if "unexpected end of data" in str(error) else None
    return None


def _parse(reader: csv.DictReader[str], source: str, base: KnowledgeBase | None) -> KnowledgeBase:
    reader.fieldnames = [_column(n) for n in reader.fieldnames or ()]
    missing = [c for c in COLUMNS if c not in reader.fieldnames]
    if missing:
        raise KbError([Problem(source, "", f"missing column {c!r}") for c in missing])
    reading = _Reading(source, base, "links" in reader.fieldnames)
    for line, row in enumerate(reader, 2):
        cells = {c: _undefused(_plain_lines(row.get(c)).strip())
                 for c in (*COLUMNS, *EXTRA_COLUMNS)}
        # Excel saves the rows a sheet once used as separators only («;;;;;»).
        if any(cells.values()) and _readable(reading, cells, line):
            _row(reading, cells, line)
    return _result(reading)


def _plain_lines(cell: str | None) -> str:
    # A cell of several lines keeps the file's line ends: Excel's «\r\n» went into the YAML
    # and on to the clients as it stood.
    return (cell or "").replace("\r\n", "\n").replace("\r", "\n")


def _readable(reading: _Reading, cells: Mapping[str, str], line: int) -> bool:
    reason = next((f"{c}: {r}" for c, cell in cells.items() if (r := unreadable(cell))), "")
    if not reason:
        return True
    reading.unreadable_lines += 1
    if reading.unreadable_lines <= _SHOWN_UNREADABLE:
        reading.note(cells["id"], line, reason)
    return False


def _result(reading: _Reading) -> KnowledgeBase:
    source, base = reading.source, reading.base
    if reading.unreadable_lines > _SHOWN_UNREADABLE:
        more = reading.unreadable_lines - _SHOWN_UNREADABLE
        reading.problems.append(Problem(source, "", f"and {more} more lines like these"))
    if len(reading.institutions) > 1:
        lines = ", ".join(f"{name!r} (line {line})" for name, line in reading.institutions.items())
        reading.problems.append(Problem(source, "", f"different institutions: {lines}"))
    if reading.problems:
        raise KbError(reading.problems)
    return KnowledgeBase(
        categories=_categories(reading),
        entries=tuple(reading.entries),
        institution=next(iter(reading.institutions), base.institution if base else ""),
    )


def import_csv(path: Path, base: KnowledgeBase | None = None) -> KnowledgeBase:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KbError([Problem(str(path), "", f"cannot read: {exc.strerror or exc}")]) from None
    return parse_csv(decode_csv(data, str(path)), str(path), base)


def _row(reading: _Reading, cells: Mapping[str, str], line: int) -> None:
    if cells["institution"]:
        reading.institutions.setdefault(cells["institution"], line)
    if cells["category"]:
        _category(reading, cells, line)
    if cells["category"] and not any(cells[c] for c in _ENTRY_CELLS):
        return  # a category row
    entry = _entry(reading, cells, line)
    if entry is not None and entry.id in reading.ids:
        reading.note(entry.id, line, "duplicate id")
    elif entry is not None:
        reading.ids.add(entry.id)
        reading.entries.append(entry)


def _category(reading: _Reading, cells: Mapping[str, str], line: int) -> None:
    cid, title, queue = cells["category"], cells["category_title"], cells["category_queue"]
    known = reading.categories.get(cid)
    if known is None:
        reading.categories[cid] = Category(cid, title, queue)
        return
    for column, old, new in (("category_title", known.title, title),
                             ("category_queue", known.queue, queue)):
        if old and new and old != new:
            reading.note(cells["id"], line, f"{column} of {cid!r} differs: {new!r}, not {old!r}")
    reading.categories[cid] = Category(cid, known.title or title, known.queue or queue)


def _split(cell: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in _PARTS.split(cell or "") if p.strip())


def _entry(reading: _Reading, cells: Mapping[str, str], line: int) -> Entry | None:
    empty = [c for c in ("id", "category", "question", "answer") if not cells[c]]
    for column in empty:
        reading.note(cells["id"], line, f"empty {column}")
    links = _links(reading, cells, line)
    if empty or links is None:
        return None
    return Entry(
        id=cells["id"],
        category=cells["category"],
        question=cells["question"],
        answer=cells["answer"],
        variants=_split(cells["variants"]),
        keywords=_split(cells["keywords"]),
        links=links,
    )


def _links(reading: _Reading, cells: Mapping[str, str], line: int) -> tuple[Link, ...] | None:
    if not reading.has_links:
        known = reading.base.entry(cells["id"]) if reading.base else None
        return known.links if known else ()
    links: list[Link] = []
    for position, text in enumerate(_split(cells["links"]), 1):
        link = _link(text)
        if isinstance(link, str):
            reading.note(cells["id"], line, f"bad link {position} {text!r}: {link}")
        else:
            links.append(link)
    return tuple(links) if len(links) == len(_split(cells["links"])) else None


def _link(text: str) -> Link | str:
    title, _, url = text.rpartition(" ")
    if _ADDRESS.search(title):
        return ("two links run together: separate links with \" | \" or put each on its own "
                "line of the cell, each as its title then its address")
    return parse_link({"title": title, "url": url})


def _categories(reading: _Reading) -> tuple[Category, ...]:
    """The base's categories, with the titles and queues the file gives; then the file's new
    ones, titled by their id when the file gives no title."""
    categories = {c.id: c for c in reading.base.categories} if reading.base else {}
    for used in (e.category for e in reading.entries):
        reading.categories.setdefault(used, Category(used, ""))
    for cid, given in reading.categories.items():
        old = categories.get(cid, Category(cid, cid))
        categories[cid] = Category(cid, given.title or old.title, given.queue or old.queue)
    return tuple(categories.values())
