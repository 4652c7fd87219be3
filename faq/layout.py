"""Wrong keyboard layout: QWERTY ↔ ЙЦУКЕН conversion and per-message detection."""

from __future__ import annotations

import re
from collections.abc import Callable

_EN = "`qwertyuiop[]asdfghjkl;'zxcvbnm,./~QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>?&"
_RU = "ёйцукенгшщзхъфывапролджэячсмитьбю.ЁЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ,?"
_TO_RU = str.maketrans(_EN, _RU)
_TO_EN = str.maketrans(_RU, _EN)
_LATIN_TOKEN = re.compile(r"^[a-zA-Z`\[\];',./{}:\"<>~&?]+$")
_CYRILLIC_TOKEN = re.compile(r"^[а-яёА-ЯЁ.,]+$")
_EDGE_PUNCT = "!?.,;:\"'()"


def to_cyrillic(text: str) -> str:
    """Read text typed on a QWERTY layout as if the ЙЦУКЕН layout had been on."""
    return text.translate(_TO_RU)


def to_latin(text: str) -> str:
    """Read text typed on a ЙЦУКЕН layout as if the QWERTY layout had been on."""
    return text.translate(_TO_EN)


def _reading(token: str, is_known: Callable[[str], bool]) -> str | None:
    """The Cyrillic reading of a Latin-looking token when it yields a known word."""
    # Two-letter readings are too often accidental words ("vk" reads as "мл").
    if not _LATIN_TOKEN.match(token) or sum(c.isalpha() for c in token) < 3:
        return None
    # Trailing "?" or "!" are usually real punctuation, not the keys for "," or "&".
    stripped = token.rstrip("!?")
    for candidate, tail in ((stripped, token[len(stripped) :]), (token, "")):
        converted = to_cyrillic(candidate).lower()
        word = converted.strip(_EDGE_PUNCT)
        if word and word.isalpha() and is_known(word):
            return converted + tail
    return None


def fix_layout(text: str, is_known: Callable[[str], bool]) -> str:
    """Convert Latin-layout words to Cyrillic when most of them read as known Russian words.

    Deciding per message lets an unknown (misspelt) word ride along with its known neighbours;
    a lone known reading is still converted per token.
    """
    tokens = text.split()
    latin = [t for t in tokens if _LATIN_TOKEN.match(t) and any(c.isalpha() for c in t)]
    if not latin:
        return text
    readings = {t: _reading(t, is_known) for t in latin}
    known = sum(1 for r in readings.values() if r is not None)
    convert_all = known * 2 > len(latin)
    out: list[str] = []
    for token in tokens:
        reading = readings.get(token)
        if reading is not None:
            out.append(reading)
        elif convert_all and token in readings:
            stripped = token.rstrip("!?")
            out.append(to_cyrillic(stripped).lower() + token[len(stripped) :])
        else:
            out.append(token)
    return " ".join(out)


def fix_latin_words(
    text: str, is_known: Callable[[str], bool], is_known_latin: Callable[[str], bool]
) -> str:
    """Convert Cyrillic-layout tokens to Latin when only the Latin reading is a known word.

    Matters for the few Latin words a knowledge base uses ("email", "gosuslugi", "vk").
    """
    out: list[str] = []
    for token in text.split():
        word = token.lower().strip(_EDGE_PUNCT)
        latin = to_latin(word) if _CYRILLIC_TOKEN.match(token) and not is_known(word) else ""
        out.append(latin if latin and is_known_latin(latin) else token)
    return " ".join(out)
