"""Text normalisation: case, ё, punctuation, emoji, repeated letters, sentences."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-zа-я0-9]+(?:-[a-zа-я0-9]+)*")
# Three or more identical letters are emphasis ("пожааалуйста"); two are legitimate Russian.
_REPEAT = re.compile(r"([a-zа-я])\1{2,}")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")


def normalize(text: str) -> str:
    """Lower-case, ё→е, emphasis repeats collapsed; punctuation and emoji kept for splitting."""
    lowered = text.lower().replace("ё", "е")
    return _REPEAT.sub(r"\1", lowered)


def tokenize(text: str) -> list[str]:
    """Words of a normalised text; hyphenated compounds stay one token and also split."""
    tokens: list[str] = []
    for match in _WORD.finditer(normalize(text)):
        word = match.group()
        if "-" in word:
            tokens.extend(part for part in word.split("-") if part)
        else:
            tokens.append(word)
    return tokens


def canonical(text: str) -> str:
    """A key for exact matching: words only, single spaces."""
    return " ".join(tokenize(text))


def split_sentences(text: str) -> list[str]:
    return [s for s in (part.strip() for part in _SENTENCE_END.split(text)) if s]
