"""What of a conversation the desk shows unmasked, and to whom (152-ФЗ)."""

from __future__ import annotations

from handlers.pii import mask


def masked(text: str, public: frozenset[str]) -> str:
    """A text as the admin transcript shows it (analytics/logbook.py): data and names hidden."""
    return mask(text, public, names=True)


def masked_attachments(
    items: tuple[tuple[str, str, str], ...], public: frozenset[str],
) -> tuple[tuple[str, str, str], ...]:
    """A contact card holds a phone, a file name may hold a name: both masked like the text."""
    return tuple((kind, masked(ref, public), masked(name, public)) for kind, ref, name in items)


def client_label(name: str, full: bool) -> str:
    """A client's messenger name («Анна Петровна Иванова») is personal data like the texts:
    in full for the assignee only, as initials («А. П. И.») for everyone else, enough to tell
    two waiting clients apart."""
    if full:
        return name
    return " ".join(f"{word[0].upper()}." for word in name.split() if word[0].isalpha())
