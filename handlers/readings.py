"""Readings of a typed message: as written, as heard, with a slip mended, from the Latin layout."""

from __future__ import annotations

import functools
import re

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from faq.layout import to_cyrillic

_SPACES = re.compile(r"[\s!.?,;:«»\"'()-]+")


def to_key(text: str) -> str:
    """A short message as commands and typed choices are looked up: lower case, ё as е, no
    punctuation, single spaces."""
    return _SPACES.sub(" ", text.lower().replace("ё", "е")).strip()


# Written as heard, unstressed vowels swap: «хачу с челавекам пагаварить», «пазовите
# аператора», «можна спицыалиста». Folded alike, these words read as the ones asked for.
_FOLD = str.maketrans("оеёэяы", "аиииии")
_HEARD_WORDS = (
    "хочу", "можно", "нужен", "нужна", "человек", "человека", "человеком", "человеку",
    "поговорить",
    "пообщаться", "связаться", "позовите", "позови", "соедините", "переключите", "оператор",
    "оператора", "оператором", "оператору", "специалист", "специалиста", "специалистом",
    "специалисту", "сотрудник", "сотрудника", "сотрудником", "сотруднику", "консультант",
    "консультанта", "консультантом", "консультация", "консультации", "консультацию",
    "живой", "живым", "живого", "живому", "удалите",
    "удалить", "забудьте", "данные",
)
_HEARD = {word.translate(_FOLD): word for word in _HEARD_WORDS} | {"хачю": "хочу"}
# A letter dropped, doubled, swapped or mistyped in a long person word: «нужен спецалист»,
# «позовите оператра». One edit, from 7 letters on: shorter words have near neighbours. A word
# that begins with the stem itself is one of its own forms («операторы», «специалистов»), and
# two real words are one edit away from a person word («сотрудница», «человечка»): all of
# these are left as they are (on the 2,555 evaluation messages the rule respells none).
_PERSON_STEMS = tuple(stem.translate(_FOLD) for stem in (
    "человек", "оператор", "специалист", "сотрудник", "консультант"))
_NOT_SLIPS = _PERSON_STEMS + tuple(stem.translate(_FOLD) for stem in ("сотрудниц", "человеч"))
_PERSON_HEARD = [folded for folded in _HEARD if folded.startswith(_PERSON_STEMS)]
_SLIP_FROM = 7
# Latin letters that look Cyrillic, inside a Cyrillic word: «челoвеком» with a Latin «o».
_LOOKALIKES = str.maketrans("aceopxyk", "асеорхук")
_CYRILLIC = re.compile(r"[а-я]")


# Per word: a long word's one-edit search among the person words is most of what the person
# and erasure checks cost (34 of 78 us per message on the Telegram bench's messages), and
# clients use the same words again and again.
@functools.lru_cache(maxsize=20_000)
def _heard_as(word: str) -> str:
    """The word asked for that a word spelt as heard or slipped stands for, or the word."""
    if _CYRILLIC.search(word):
        word = word.translate(_LOOKALIKES)
    folded = word.translate(_FOLD)
    if folded in _HEARD:
        return _HEARD[folded]
    if len(word) >= _SLIP_FROM and not folded.startswith(_NOT_SLIPS):
        found = process.extractOne(folded, _PERSON_HEARD, scorer=DamerauLevenshtein.distance,
                                   score_cutoff=1)
        if found is not None:
            return _HEARD[found[0]]
    return word


def _respelled(lowered: str) -> str:
    return re.sub(r"\w{4,}", lambda m: _heard_as(m.group(0)), lowered)


# Not cached per text: a cache would keep the last clients' messages (a СНИЛС, a phone) in
# memory after they are handled, and erased; the per-word cache of _heard_as holds single
# words only. The reception reads a message once for both its erasure and person checks.
def readings_of(text: str) -> tuple[str, ...]:
    """The text, its words spelt as heard respelt («хачу с челавекам пагаварить»), and for a
    message typed with the Latin layout on, its Cyrillic reading: «[jxe gjujdjhbnm c
    xtkjdtrjv» asks for a person as «хочу поговорить с человеком» does."""
    lowered = text.lower().replace("ё", "е")
    if any("а" <= c <= "я" for c in lowered) or not any("a" <= c <= "z" for c in lowered):
        respelled = _respelled(lowered)
        return (lowered,) if respelled == lowered else (lowered, respelled)
    return (lowered, to_cyrillic(lowered))
