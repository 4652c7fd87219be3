"""A knowledge base's problems: the English reason for logs and the CLI, and its kind for pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class ProblemKind(StrEnum):
    """What is wrong, for a page to say in its own language; `details` are its values."""

    OTHER = "other"  # no details: a page shows the English reason
    NO_FILES = "no_files"
    EMPTY_FILE = "empty_file"
    NO_ENTRIES = "no_entries"
    UNREADABLE = "unreadable"
    NOT_UTF8 = "not_utf8"  # line
    BAD_YAML = "bad_yaml"  # line, the line's text, YamlAdvice
    DUPLICATE_KEY = "duplicate_key"  # key, line
    CUT_BY_COMMENT = "cut_by_comment"  # line
    TOP_NOT_MAPPING = "top_not_mapping"
    UNKNOWN_KEY = "unknown_key"  # key
    NOT_TEXT = "not_text"  # key
    NOT_LIST = "not_list"  # key
    NOT_TEXTS = "not_texts"  # key
    ITEM_NOT_MAPPING = "item_not_mapping"  # key, position
    MISSING_FIELD = "missing_field"  # key
    EMPTY_FIELD = "empty_field"  # key
    DUPLICATE_CATEGORY = "duplicate_category"  # category id
    DUPLICATE_ID = "duplicate_id"  # the file that has it first
    UNKNOWN_CATEGORY = "unknown_category"  # category id
    GARBLED = "garbled"  # key, excerpt
    BAD_LINK = "bad_link"  # position
    SYNONYMS_FILE = "synonyms_file"
    RELOAD_FAILED = "reload_failed"


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    entry_id: str
    reason: str
    # Not compared: the reason already says the same, and callers build Problems from it.
    kind: ProblemKind = field(default=ProblemKind.OTHER, compare=False)
    details: tuple[str, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return f"{self.file}: {self.entry_id or '-'}: {self.reason}"


class KbError(Exception):
    """A knowledge base that cannot be used; `problems` lists all that was found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems[:5]))
