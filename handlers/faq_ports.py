"""The FAQ as the core sees it: matching, and adding entries from the desk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from faq.loader import Problem
from faq.model import Entry, KnowledgeBase, MatchResult


class Faq(Protocol):
    @property
    def kb(self) -> KnowledgeBase: ...

    def match(self, text: str) -> MatchResult: ...


class EntryIdTaken(ValueError):
    """The knowledge base's files already have an entry with this id."""


class KnowledgeBaseBroken(ValueError):
    """The knowledge base's files do not load (with the entry added): nothing can be added
    until they are corrected."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = tuple(problems)


class KnowledgeBaseEditor(Protocol):
    """Adds an entry to the knowledge base, which serves it without a restart."""

    async def add_entry(self, entry: Entry) -> None:
        """Raises EntryIdTaken when the id is taken, KnowledgeBaseBroken when the files do
        not load with it, ValueError when it cannot be added otherwise."""
