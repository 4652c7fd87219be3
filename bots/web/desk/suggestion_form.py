"""A suggestion as the administrator sends it for the knowledge base, and what to correct."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from faq.loader import Problem
from faq.model import Entry, KnowledgeBase
from handlers.pii import ADDRESS, EMAIL, PHONE, mask_labels, personal_data

ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
MAX_FIELD = 4000
# A variant is a question as a client words it, a keyword a few words: longer is a pasted
# answer. Counts as in kb/sample's richest entries, with room to spare.
MAX_VARIANTS, MAX_VARIANT_CHARS = 30, 500
MAX_KEYWORDS, MAX_KEYWORD_CHARS = 30, 100
# An answer may give the institution's own phone or e-mail; nothing else personal belongs in
# a knowledge base that every client reads (a question: nothing personal at all).
_CONTACTS = frozenset({PHONE, EMAIL, ADDRESS})
_MARKUP = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>|<!--")  # a tag, not «< 18 лет»
_KEYWORD_SEPARATORS = re.compile(r"[,;\n]")


@dataclass(frozen=True, slots=True)
class Draft:
    """The entry an administrator makes of a suggestion, as sent (trimmed, not yet checked)."""

    question: str
    answer: str
    category: str
    entry_id: str
    variants: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def to_entry(self) -> Entry:
        return Entry(self.entry_id, self.category, self.question, self.answer,
                     variants=parse_variants("\n".join(self.variants), self.question),
                     keywords=self.keywords)

    def texts(self) -> Iterator[tuple[str, str]]:
        """(field, text) of every text a client may read or be matched by."""
        yield "question", self.question
        yield from (("variants", v) for v in self.variants)
        yield from (("keywords", k) for k in self.keywords)
        yield "answer", self.answer


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the entry is not added: a code the page words, the field, what is wrong in it."""

    code: str
    field: str = ""
    detail: str = ""
    problems: tuple[Problem, ...] = ()  # of the knowledge base's files, when they do not load


def _key(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split()).strip(" ?!.")


def parse_variants(text: str, question: str = "") -> tuple[str, ...]:
    """One a line; repeats, and the question itself, left out (case and spacing aside)."""
    seen, variants = {_key(question)}, []
    for line in text.splitlines():
        variant = " ".join(line.split())
        if variant and _key(variant) not in seen:
            seen.add(_key(variant))
            variants.append(variant)
    return tuple(variants)


def parse_keywords(text: str) -> tuple[str, ...]:
    """Separated by commas (a line break or «;» as well); repeats left out."""
    words = (" ".join(part.split()) for part in _KEYWORD_SEPARATORS.split(text))
    return tuple(dict.fromkeys(w for w in words if w))


def refusal(draft: Draft, kb: KnowledgeBase) -> Refusal | None:
    """The first thing to correct before the draft is published, or None."""
    if not draft.question or not draft.answer:
        return Refusal("empty")
    return _too_long(draft) or _unsafe(draft) or _unplaced(draft, kb)


def _too_long(d: Draft) -> Refusal | None:
    for field, items, most, chars in (("variants", d.variants, MAX_VARIANTS, MAX_VARIANT_CHARS),
                                      ("keywords", d.keywords, MAX_KEYWORDS, MAX_KEYWORD_CHARS)):
        if len(items) > most:
            return Refusal("too_many", field, str(most))
        long = next((item for item in items if len(item) > chars), None)
        if long is not None:
            return Refusal("too_long", field, str(chars))
    return None


def _unsafe(d: Draft) -> Refusal | None:
    texts = list(d.texts())
    # Questions, variants and keywords show on clients' buttons or match them: nothing personal.
    for field, text in texts[:-1]:
        if personal_data(text, names=True):
            return Refusal("personal_question", field)
    # Every channel shows a knowledge-base text as plain text: a tag reads as «<b>».
    if any(_MARKUP.search(text) for _, text in texts):
        return Refusal("markup")
    for field, text in texts:
        labels = mask_labels(text)
        if labels:
            # «[телефон]» in a client's button reads as a broken text: the administrator
            # rewrites it, told which label and where (a variant is easily overlooked).
            return Refusal("mask_left", field, labels[0])
    # A specialist's reply greets its client by name ("Здравствуйте, Анна Петровна!"): in the
    # knowledge base every client would read it.
    if set(personal_data(d.answer, names=True)) - _CONTACTS:
        return Refusal("personal_answer", "answer")
    return None


def _unplaced(d: Draft, kb: KnowledgeBase) -> Refusal | None:
    if kb.category(d.category) is None:
        return Refusal("unknown_category")
    if not ENTRY_ID.match(d.entry_id):
        return Refusal("bad_entry_id")
    if kb.entry(d.entry_id) is not None:
        return Refusal("entry_exists")
    return None


def default_category(category: str, queue: str, kb: KnowledgeBase) -> str:
    """The conversation's topic; else the one topic its queue serves; else none (chosen)."""
    if kb.category(category) is not None:
        return category
    serving = [c.id for c in kb.categories if queue and c.queue == queue]
    return serving[0] if len(serving) == 1 else ""
