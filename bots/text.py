"""Text helpers shared by channel adapters: intake cleaning, length measuring, splitting."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

# Preferred cut points, best first: a paragraph, a line, a sentence, a word.
_SEPARATORS = ("\n\n", "\n", ". ", " ")


def to_storable(text: str) -> str:
    """Text with each lone UTF-16 surrogate replaced by U+FFFD and NUL characters dropped.

    JSON may carry an escaped half of a pair ("\\ud800"); no database encoding can store
    one, so the message would fail after the client was told nothing. A whole pair sent as
    two escapes stays the one character it stands for. PostgreSQL refuses NUL in text.
    """
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Cut text into parts of at most `limit` units, at the most natural boundary available."""
    if limit <= 0:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    rest = text
    while measure(rest) > limit:
        cut = _cut_point(rest, limit, measure)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            parts.append(head)
    if not parts:
        return [rest]
    if rest.strip():
        parts.append(rest.rstrip())
    return parts


def _cut_point(text: str, limit: int, measure: Callable[[str], int]) -> int:
    fit = _longest_prefix(text, limit, measure)
    if text[fit:fit + 1].isspace():
        return fit  # the part ends exactly before a break: nothing to move to the next one
    window = text[:fit]
    for sep in _SEPARATORS:
        at = window.rfind(sep)
        # A cut in the first quarter would leave a tiny part; a hard cut reads better then.
        if at > fit // 4:
            return at + len(sep)
    return fit


def _longest_prefix(text: str, limit: int, measure: Callable[[str], int]) -> int:
    """The largest n with measure(text[:n]) <= limit, never splitting a surrogate pair."""
    lo, hi = 1, min(len(text), limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if measure(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return max(lo, 1)


def unix_time(value: object) -> datetime | None:
    """A platform's time as UTC: Unix seconds as the APIs send it, or ISO 8601 as a library's
    model dump gives it (vkbottle's dates); None for anything else (absent, bool, absurd)."""
    if isinstance(value, str):
        try:
            found = datetime.fromisoformat(value)
        except ValueError:
            return None
        return found.astimezone(UTC) if found.tzinfo is not None else None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**33:
        return None
    return datetime.fromtimestamp(value, UTC)
