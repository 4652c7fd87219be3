"""What of a conversation the desk shows unmasked, and to whom (152-ФЗ)."""

from __future__ import annotations

from handlers.pii import mask


def masked(text: str, public: frozenset[str], known: frozenset[str] = frozenset()) -> str:
    """A text as the admin transcript shows it (analytics/logbook.py): data and names hidden,
    with `known` (handlers.names.known_name of the client) the client's first name alone."""
    return mask(text, public, names=True, known=known)


def masked_attachments(
    items: tuple[tuple[str, str, str], ...], public: frozenset[str],
) -> tuple[tuple[str, str, str], ...]:
    """A contact card holds a phone, a file name may hold a name: both masked like the text."""
    return tuple((kind, masked(ref, public), masked(name, public)) for kind, ref, name in items)
