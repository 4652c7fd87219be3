"""Value objects of the knowledge base and of a matching decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    title: str
    queue: str = ""


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    category: str
    question: str
    answer: str
    variants: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """A loaded, validated knowledge base; entries keep the order of their files."""

    categories: tuple[Category, ...]
    entries: tuple[Entry, ...]
    institution: str = ""
    _by_id: dict[str, Entry] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({e.id: e for e in self.entries})

    def entry(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)

    def entries_of(self, category_id: str) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.category == category_id)


class Decision(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    NO_MATCH = "no_match"
    SMALLTALK = "smalltalk"


class SmallTalk(StrEnum):
    GREETING = "greeting"
    # "вы меня слышите?", "есть кто?": the client checks that someone is there.
    PRESENCE = "presence"
    THANKS = "thanks"
    GOODBYE = "goodbye"
    # Holiday and birthday wishes: clients send them to the institution too.
    CONGRATULATION = "congratulation"
    # "ок", "понятно", "ясно" after an answer: acknowledged, not read as a question.
    ACKNOWLEDGEMENT = "acknowledgement"
    # "вы робот?", "а вы кто, робот или человек?": told plainly that a program answers.
    IDENTITY = "identity"
    # «помогите», «нужна помощь» and no word of what with: asked what about, not guessed at.
    HELP = "help"


@dataclass(frozen=True, slots=True)
class Candidate:
    entry_id: str
    score: float


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What the matcher decided for one message; candidates are best first."""

    decision: Decision
    candidates: tuple[Candidate, ...] = ()
    smalltalk: SmallTalk | None = None

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None
