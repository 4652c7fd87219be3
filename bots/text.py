"""Text helpers shared by the channel adapters."""

from __future__ import annotations

from collections.abc import Callable

# Preferred cut points, best first: a paragraph, a line, a sentence, a word.
_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", " ")


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Cuts text into parts of at most `limit` units, at the most natural break available.

    `measure` counts units the way the platform does (characters, UTF-16 code units).
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text
    while measure(rest) > limit:
        head = _fit(rest, limit, measure)
        cut = _natural_cut(head)
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest or not parts:
        parts.append(rest)
    return [p for p in parts if p] or [""]


def _fit(text: str, limit: int, measure: Callable[[str], int]) -> str:
    """The longest prefix of text within the limit (binary search: measure may not be len)."""
    low, high = 1, min(len(text), limit)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(text[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return text[:low]


def _natural_cut(head: str) -> int:
    # A break in the first half would leave tiny parts; cut hard instead.
    for mark in _BREAKS:
        at = head.rfind(mark)
        if at > len(head) // 2:
            return at + len(mark)
    return len(head)
