"""Log search terms: case, ё and Russian word forms folded, in SQL and on the masked text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import SQLColumnExpression, and_, func, or_
from sqlalchemy.sql.elements import ColumnElement

from faq.morph import word_forms

# Each term adds its word forms to the query; a longer query is a sentence pasted in, and its
# first words already narrow the log down.
MAX_TERMS = 8
# Forms sharing their first letters share one LIKE pattern (their common prefix); the others
# ("дети" for "ребёнок") get their own.
_PATTERN_KEY = 3
_WORD = re.compile(r"[a-zа-я0-9]+")
_EDGE_PUNCTUATION = ".,;:!?«»\"'()…"


def fold(text: str) -> str:
    """Lower case with ё as е: how both the query and the log are compared."""
    return text.lower().replace("ё", "е")


@dataclass(frozen=True, slots=True)
class Term:
    """One word of the query (matched by its forms) or other text (matched as a substring)."""

    text: str  # folded
    forms: frozenset[str] = frozenset()

    def patterns(self) -> tuple[str, ...]:
        """Substrings one of which every match contains: what the database looks for."""
        if not self.forms:
            return (self.text,)
        groups: dict[str, list[str]] = {}
        for form in sorted(self.forms | {self.text}):
            groups.setdefault(form[:_PATTERN_KEY], []).append(form)
        return tuple(_common_prefix(group) for group in groups.values())

    def found_in(self, folded: str, words: frozenset[str]) -> bool:
        if not self.forms:
            return self.text in folded
        return any(w.startswith(self.text) or w in self.forms for w in words)


def _common_prefix(ordered: list[str]) -> str:
    first, last = ordered[0], ordered[-1]
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b),
                min(len(first), len(last)))
    return first[:size]


def parse_terms(query: str) -> tuple[Term, ...]:
    terms: dict[str, Term] = {}
    for raw in fold(query).split()[:MAX_TERMS]:
        word = raw.strip(_EDGE_PUNCTUATION)
        if word.isalpha():
            terms.setdefault(word, Term(word, word_forms(word)))
        else:
            terms.setdefault(raw, Term(raw))
    return tuple(terms.values())


def sql_condition(
    column: SQLColumnExpression[str], terms: tuple[Term, ...],
) -> ColumnElement[bool]:
    """Rows that may match: every term has one of its patterns in the folded text."""
    folded = func.replace(func.lower(column), "ё", "е")
    return and_(*(or_(*(folded.contains(p, autoescape=True) for p in term.patterns()))
                  for term in terms))


def matches(text: str, terms: tuple[Term, ...]) -> bool:
    """Whether every term is in the text: a word in any of its forms, else as typed."""
    folded = fold(text)
    words = frozenset(_WORD.findall(folded))
    return all(term.found_in(folded, words) for term in terms)
