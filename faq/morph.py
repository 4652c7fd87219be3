"""Russian morphology: pymorphy3 lemmas behind a per-word cache, Snowball stems as a fallback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import IntEnum
from typing import Any, Protocol


class Lemmatizer(Protocol):
    """What the matcher needs from morphology."""

    def lemma(self, word: str) -> str: ...

    def is_known(self, word: str) -> bool: ...


class PymorphyLemmatizer:
    """pymorphy3 with an lru_cache per word: ~88k words/s uncached, ~660k cached (STACK.md)."""

    def __init__(self, cache_size: int = 200_000) -> None:
        self._morph = _analyzer()
        self._cached_lemma = functools.lru_cache(maxsize=cache_size)(self._lemma)
        self._cached_known = functools.lru_cache(maxsize=cache_size)(self._is_known)

    def lemma(self, word: str) -> str:
        return self._cached_lemma(word)

    def is_known(self, word: str) -> bool:
        return self._cached_known(word)

    def _lemma(self, word: str) -> str:
        if not word.isalpha():
            return word
        return strip_reflexive(str(self._morph.parse(word)[0].normal_form).replace("ё", "е"))

    def _is_known(self, word: str) -> bool:
        return bool(self._morph.word_is_known(word))


def strip_reflexive(lemma: str) -> str:
    """ "записаться" → "записать": clients and answers pick either voice for the same act."""
    if lemma.endswith(("ться", "тись", "чься")):
        return lemma[:-2]
    return lemma


class StemLemmatizer:
    """Snowball stems: no dictionary to load, for when pymorphy3 is unavailable."""

    def __init__(self) -> None:
        import Stemmer

        self._stemmer = Stemmer.Stemmer("russian")

    def lemma(self, word: str) -> str:
        return str(self._stemmer.stemWord(word))

    def is_known(self, word: str) -> bool:
        # Without a dictionary, any Cyrillic word of two letters or more may be real.
        return len(word) > 1 and all("а" <= c <= "я" for c in word)


@functools.cache
def _russian_stemmer() -> Callable[[str], str]:
    import Stemmer

    stem: Callable[[str], str] = Stemmer.Stemmer("russian").stemWord
    return stem


STEM_KEY_LENGTH = 7


def stem_key(word: str) -> str | None:
    """A derivation-blind key: "волонтерский" and "волонтер" share "волонте"; None if short."""
    stem = _russian_stemmer()(word)
    return stem[:STEM_KEY_LENGTH] if len(stem) >= 5 else None


@functools.cache
def _analyzer() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


# Readings much less likely than the best one ("стали" as the plural of "сталь") would widen
# a search to another word's forms.
_FORM_READING_SHARE = 0.1


@functools.lru_cache(maxsize=10_000)
def word_forms(word: str) -> frozenset[str]:
    """The word and every inflected form of its likely readings, lower case with ё as е.

    "пособие" gives "пособия", "пособием"…; without pymorphy3's dictionaries, the word alone."""
    word = word.lower().replace("ё", "е")
    try:
        parses = _analyzer().parse(word)
    except ImportError:
        return frozenset((word,))
    best = max((p.score for p in parses), default=0.0)
    forms = {f.word.replace("ё", "е") for p in parses
             if p.score >= best * _FORM_READING_SHARE for f in p.lexeme}
    return frozenset(forms | {word})


class NameWord(IntEnum):
    """How surely a word is part of a person's name, by its dictionary readings."""

    NO = 0
    MAYBE = 1  # one reading is a name or surname ("Вера", "Лев"), the likeliest is not
    LIKELY = 2  # the likeliest reading is a name or surname ("Мария", "Иванова")
    PATRONYMIC = 3  # "Петровна": nothing else reads so


_PERSON = frozenset({"Name", "Surn", "Patr"})


@functools.lru_cache(maxsize=10_000)
def person_lemmas(word: str) -> frozenset[str]:
    """The dictionary forms of a lower-case word's readings as a person's name or surname
    («валентину» gives «валентина»); empty without such a reading or the dictionaries."""
    try:
        parses = _analyzer().parse(word)
    except ImportError:
        return frozenset()
    return frozenset(p.normal_form.replace("ё", "е") for p in parses
                     if p.tag.grammemes & _PERSON)


@functools.lru_cache(maxsize=100_000)
def name_word(word: str) -> NameWord:
    """NameWord of a lower-case word; NO without pymorphy3's dictionaries."""
    try:
        parses = _analyzer().parse(word)
    except ImportError:
        return NameWord.NO
    if not parses or len(word) < 2:
        return NameWord.NO
    top = parses[0].tag.grammemes
    if "Patr" in top:
        return NameWord.PATRONYMIC
    if top & _PERSON:
        return NameWord.LIKELY
    return NameWord.MAYBE if any(p.tag.grammemes & _PERSON for p in parses) else NameWord.NO


@functools.cache
def default_lemmatizer() -> Lemmatizer:
    """One shared analyzer per process: its dictionaries take ~1 s and ~15 MB to load."""
    try:
        return PymorphyLemmatizer()
    except ImportError:
        return StemLemmatizer()
