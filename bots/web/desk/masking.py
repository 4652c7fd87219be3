"""What of a conversation the desk shows unmasked, and to whom (152-ФЗ)."""

from __future__ import annotations

from faq.model import KnowledgeBase
from handlers.pii import mask, public_contacts

# The last knowledge base's contacts: read once per reload, not once per page.
_CONTACTS: list[tuple[KnowledgeBase, frozenset[str]]] = []


def contacts_of(kb: KnowledgeBase) -> frozenset[str]:
    """The phones and e-mails the knowledge base's answers give: the institution's own."""
    if not _CONTACTS or _CONTACTS[0][0] is not kb:
        _CONTACTS[:] = [(kb, public_contacts(e.answer for e in kb.entries))]
    return _CONTACTS[0][1]


def masked(text: str, public: frozenset[str]) -> str:
    """A text as the admin transcript shows it (analytics/logbook.py): data and names hidden."""
    return mask(text, public, names=True)


def masked_attachments(
    items: tuple[tuple[str, str, str], ...], public: frozenset[str],
) -> tuple[tuple[str, str, str], ...]:
    """A contact card holds a phone, a file name may hold a name: both masked like the text."""
    return tuple((kind, masked(ref, public), masked(name, public)) for kind, ref, name in items)
