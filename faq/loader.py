"""Load and check YAML knowledge bases: every problem reported with file, entry id and reason."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from faq.model import Category, Entry, KnowledgeBase, Link
from faq.mojibake import garbled
from faq.problems import KbError, Problem, ProblemKind
from faq.strict_yaml import (
    parse_yaml_checked,
    plain_yaml_problem,
    repeated_message,
    yaml_trouble,
)

_TOP_KEYS = frozenset({"institution", "categories", "entries"})
_K = ProblemKind
# The loader's callers have always imported these from here.
__all__ = ["KbError", "Problem", "check_kb", "defined_in", "kb_files", "load_kb", "not_utf8",
           "parse_link"]
_CATEGORY_KEYS = frozenset({"id", "title", "queue"})
_ENTRY_REQUIRED = ("id", "category", "question", "answer")
_ENTRY_KEYS = frozenset({*_ENTRY_REQUIRED, "variants", "keywords", "links"})
_LINK_KEYS = frozenset({"title", "url"})
_EXTENSIONS = (".yaml", ".yml")


def kb_files(paths: Iterable[Path]) -> list[Path]:
    """The YAML files named directly or found in the given folders, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            # Any case: Windows shows KCSON.YAML and kcson.yaml alike, and saves either.
            found = [p for p in path.rglob("*") if p.suffix.lower() in _EXTENSIONS]
            # Dot-files are editors' swap files and our own atomic-write temporaries.
            files.extend(sorted(p for p in found if not p.name.startswith(".")
                                and p.is_file()))
        else:
            files.append(path)
    return files


def check_kb(paths: Sequence[Path]) -> list[Problem]:
    return _Collector().run(paths)[1]


@dataclass(frozen=True, slots=True)
class Definitions:
    """The entry ids (with the file of each) and category ids that files define, valid or not."""

    entries: dict[str, str]
    categories: frozenset[str]


def defined_in(paths: Sequence[Path]) -> Definitions:
    collector = _Collector()
    collector.run(paths)
    entries = {eid: file for eid, file in collector.seen.items() if eid}
    return Definitions(entries, frozenset(collector.categories))


def load_kb(paths: Sequence[Path], *, servable: bool = True) -> KnowledgeBase:
    """servable=False: empty files and no entries at all are no problem (what a CSV import
    takes categories and links from need not be a knowledge base to answer from)."""
    kb, problems = _Collector(servable).run(paths)
    if problems:
        raise KbError(problems)
    return kb


class _Collector:
    """Walks the files once, keeping what is valid and noting every problem."""

    def __init__(self, servable: bool = True) -> None:
        self.servable = servable
        self.problems: list[Problem] = []
        self.categories: dict[str, Category] = {}
        self.entries: dict[str, tuple[str, Entry]] = {}
        # Every entry's id and category, valid or not, so that all problems surface at once.
        self.seen: dict[str, str] = {}
        self.references: list[tuple[str, str, str]] = []
        self.institution = ""

    def run(self, paths: Sequence[Path]) -> tuple[KnowledgeBase, list[Problem]]:
        files = kb_files(paths)
        if not files:
            self.problems.append(
                Problem(", ".join(map(str, paths)), "", "no knowledge-base files", _K.NO_FILES)
            )
        for file in files:
            self._file(file)
        if self.servable and files and not self.seen and not self.problems:
            # Every question would get «не нашёл ответа»: as broken as a bad edit, never
            # served in place of the previous version nor kept as the last good copy.
            self._note(", ".join(map(str, paths)), "", "no entries: the knowledge base has "
                       "no questions to answer", _K.NO_ENTRIES)
        for origin, label, category in self.references:
            if category not in self.categories:
                self._note(origin, label, f"unknown category {category!r}",
                           _K.UNKNOWN_CATEGORY, category)
        kb = KnowledgeBase(
            categories=tuple(self.categories.values()),
            entries=tuple(entry for _, entry in self.entries.values()),
            institution=self.institution,
        )
        return kb, self.problems

    def _note(self, file: str, entry_id: str, reason: str,
              kind: ProblemKind = ProblemKind.OTHER, *details: object) -> None:
        self.problems.append(Problem(file, entry_id, reason, kind, tuple(map(str, details))))

    def _file(self, path: Path) -> None:
        file = str(path)
        try:
            content = path.read_bytes()
            if looks_utf16(content):  # without a BOM its Latin text reads as UTF-8 with NULs
                self._note(file, "", UTF16, _K.NOT_UTF8, 1)
                return
            text = content.decode("utf-8-sig")
        except OSError as exc:
            self._note(file, "", f"cannot read: {exc.strerror or exc}", _K.UNREADABLE)
            return
        except UnicodeDecodeError as exc:
            line = content[: exc.start].count(b"\n") + 1
            self._note(file, "", not_utf8(content, exc), _K.NOT_UTF8, line)
            return
        try:
            data, repeated, cut = parse_yaml_checked(text)
        except yaml.YAMLError as exc:
            trouble = yaml_trouble(exc, text)
            self._note(file, "", f"bad YAML: {plain_yaml_problem(exc, text)}", _K.BAD_YAML,
                       trouble.line, trouble.source, trouble.advice)
            return
        for repeat in repeated:
            self._note(file, repeat.label, repeated_message(repeat), _K.DUPLICATE_KEY, repeat.key,
                       repeat.line)
        for line in cut:
            self._note(file, "", f"line {line}: the text after ' #' was read as a YAML comment "
                       "and dropped; put the whole text in quotes (\"…\") to keep it",
                       _K.CUT_BY_COMMENT, line)
        if data is None and not self.servable:
            return
        if data is None:
            # A save cut short (a full disk, an editor's crash) leaves a file like this; its
            # entries would silently vanish from the answers.
            self._note(file, "", "the file is empty (or holds only comments): restore its "
                       "entries, or delete the file if it is meant to go", _K.EMPTY_FILE)
            return
        if not isinstance(data, Mapping):
            self._note(file, "", "top level must be a mapping", _K.TOP_NOT_MAPPING)
            return
        for key in sorted(set(map(str, data)) - _TOP_KEYS):
            self._note(file, "", f"unknown key {key!r}", _K.UNKNOWN_KEY, key)
        self._institution(file, data.get("institution"))
        for raw in self._items(file, data, "categories"):
            self._category(file, raw)
        for raw in self._items(file, data, "entries"):
            self._entry(file, raw)

    def _institution(self, file: str, value: object) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self._note(file, "", "institution must be text", _K.NOT_TEXT, "institution")
        elif not self.institution:
            self.institution = value.strip()

    def _items(self, file: str, data: Mapping[str, Any], key: str) -> Iterator[Mapping[str, Any]]:
        items = data.get(key)
        if items is None:
            return
        if not isinstance(items, list):
            self._note(file, "", f"{key} must be a list", _K.NOT_LIST, key)
            return
        for position, item in enumerate(items, 1):
            if isinstance(item, Mapping):
                yield item
            else:
                self._note(file, "", f"{key} item {position} must be a mapping",
                           _K.ITEM_NOT_MAPPING, key, position)

    def _category(self, file: str, raw: Mapping[str, Any]) -> None:
        cid = raw.get("id")
        label = cid if isinstance(cid, str) else ""
        ok = self._keys(file, label, raw, _CATEGORY_KEYS, ("id", "title"), "category ")
        texts = {key: raw.get(key, "") for key in ("id", "title", "queue")}
        for key, value in texts.items():
            if not isinstance(value, str):
                self._note(file, label, f"category {key} must be text", _K.NOT_TEXT, key)
                ok = False
        if not ok:
            return
        if label in self.categories:
            self._note(file, label, f"duplicate category id {label!r}", _K.DUPLICATE_CATEGORY,
                       label)
            return
        self.categories[label] = Category(label, texts["title"].strip(), texts["queue"].strip())

    def _keys(
        self,
        file: str,
        label: str,
        raw: Mapping[str, Any],
        allowed: frozenset[str],
        required: Sequence[str],
        what: str = "",
    ) -> bool:
        ok = True
        for key in sorted(set(map(str, raw)) - allowed):
            self._note(file, label, f"unknown {what}key {key!r}", _K.UNKNOWN_KEY, key)
        for key in required:
            value = raw.get(key)
            if value is None:
                self._note(file, label, f"missing {what}field {key!r}", _K.MISSING_FIELD, key)
                ok = False
            elif isinstance(value, str) and not value.strip():
                self._note(file, label, f"empty {what}{key}", _K.EMPTY_FIELD, key)
                ok = False
        return ok

    def _entry(self, file: str, raw: Mapping[str, Any]) -> None:
        eid = raw.get("id")
        label = eid if isinstance(eid, str) else ""
        ok = self._keys(file, label, raw, _ENTRY_KEYS, _ENTRY_REQUIRED)
        for key in _ENTRY_REQUIRED:
            if key in raw and raw[key] is not None and not isinstance(raw[key], str):
                self._note(file, label, f"{key} must be text", _K.NOT_TEXT, key)
                ok = False
        if label and label in self.seen:
            self._note(file, label, f"duplicate id (first in {self.seen[label]})",
                       _K.DUPLICATE_ID, self.seen[label])
            ok = False
        self.seen.setdefault(label, file)
        if isinstance(raw.get("category"), str) and raw["category"].strip():
            self.references.append((file, label, raw["category"].strip()))
        variants = self._texts(file, label, raw, "variants")
        keywords = self._texts(file, label, raw, "keywords")
        links = self._links(file, label, raw.get("links"))
        if not ok or variants is None or keywords is None or links is None:
            return
        for key, texts in (("question", [raw["question"]]), ("answer", [raw["answer"]]),
                           ("variants", variants), ("keywords", keywords)):
            excerpt = next(filter(None, map(garbled, texts)), "")
            if excerpt:
                # UTF-8 read as Windows-1251 somewhere on the way (a spreadsheet, an editor):
                # clients would read it as it stands.
                self._note(file, label, f"{key}: garbled text «{excerpt}…»: retype it or copy "
                           "it again from the original", _K.GARBLED, key, excerpt)
                return
        entry = Entry(
            id=label,
            category=raw["category"].strip(),
            question=raw["question"].strip(),
            answer=raw["answer"].strip(),
            variants=variants,
            keywords=keywords,
            links=links,
        )
        self.entries[label] = (file, entry)

    def _texts(
        self, file: str, label: str, raw: Mapping[str, Any], key: str
    ) -> tuple[str, ...] | None:
        value = raw.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self._note(file, label, f"{key} must be a list of texts", _K.NOT_TEXTS, key)
            return None
        return tuple(v.strip() for v in value if v.strip())

    def _links(self, file: str, label: str, value: object) -> tuple[Link, ...] | None:
        if value is None:
            return ()
        if not isinstance(value, list):
            self._note(file, label, "links must be a list", _K.NOT_LIST, "links")
            return None
        links: list[Link] = []
        for position, item in enumerate(value, 1):
            link = parse_link(item)
            if isinstance(link, str):
                self._note(file, label, f"bad link {position}: {link}", _K.BAD_LINK, position)
            else:
                links.append(link)
        return tuple(links) if len(links) == len(value) else None


UTF16 = ("the file is in UTF-16 (Notepad's «Юникод», Excel's «Текст в Юникоде»), not UTF-8: "
         "save it as UTF-8 (Notepad: «Сохранить как» → Кодировка UTF-8)")


def looks_utf16(raw: bytes) -> bool:
    """A UTF-16 BOM, or the NUL byte beside every Latin letter that UTF-16 writes."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    head = raw[:1000]
    return len(head) >= 4 and head.count(0) * 4 >= len(head)


def not_utf8(raw: bytes, exc: UnicodeDecodeError) -> str:
    """Why a file is not read, in words its author can act on."""
    line = raw[: exc.start].count(b"\n") + 1
    try:
        looks_1251 = any("а" <= c <= "я" for c in raw.decode("cp1251").lower())
    except UnicodeDecodeError:
        looks_1251 = False
    if looks_1251:
        return (f"line {line}: the file is not in UTF-8 (it looks like Windows-1251): save it "
                "as UTF-8 (Notepad: «Сохранить как» → Кодировка UTF-8)")
    return f"line {line}: byte 0x{raw[exc.start]:02X} is not UTF-8 text: save the file as UTF-8"


def parse_link(item: object) -> Link | str:
    """A Link, or the reason it is not one."""
    if not isinstance(item, Mapping):
        return "must be a mapping with title and url"
    unknown = sorted(set(map(str, item)) - _LINK_KEYS)
    if unknown:
        return f"unknown key {unknown[0]!r}"
    title, url = item.get("title"), item.get("url")
    if not isinstance(title, str) or not title.strip():
        return "missing title"
    if not isinstance(url, str) or not url.startswith(("https://", "http://", "tel:", "mailto:")):
        if url is None:
            return "no url: write «url: https://…» (or tel:, mailto:) under the link's title"
        return f"url must start with https://, http://, tel: or mailto: (got {url!r})"
    if len(url.split("//", 1)[-1].strip()) < 3 or " " in url.strip():
        return f"malformed url {url!r}"
    return Link(title.strip(), url.strip())
