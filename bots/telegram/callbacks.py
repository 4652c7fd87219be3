"""Callback data within Telegram's 64 bytes: long actions travel as a hash of themselves."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from handlers.faq_ports import Faq
from handlers.model import Action, ActionKind
from handlers.replies import PAGE_SIZE

MAX_CALLBACK_BYTES = 64  # Bot API limit on InlineKeyboardButton.callback_data
HASH_PREFIX = "h:"


def digest(payload: str) -> str:
    return HASH_PREFIX + hashlib.blake2b(payload.encode(), digest_size=12).hexdigest()


class CallbackCodec:
    """Encodes actions; decodes hashes by recomputing them over the knowledge base's ids.

    Only entry and category actions can be long (their values are knowledge-base ids), so the
    lookup is derivable from the knowledge base and still works after a restart.
    """

    def __init__(self, faq: Faq) -> None:
        self._faq = faq
        self._known: dict[str, str] = {}

    def encode(self, action: Action) -> str:
        payload = action.to_payload()
        if len(payload.encode()) <= MAX_CALLBACK_BYTES:
            return payload
        hashed = digest(payload)
        self._known[hashed] = payload
        return hashed

    def decode(self, data: str) -> Action | None:
        if not data.startswith(HASH_PREFIX):
            return Action.parse(data)
        if data not in self._known:
            self._known.update((digest(p), p) for p in self._long_payloads())
        payload = self._known.get(data)
        return Action.parse(payload) if payload else None

    def _long_payloads(self) -> Iterator[str]:
        kb = self._faq.kb
        for entry in kb.entries:
            yield Action(ActionKind.ENTRY, entry.id).to_payload()
        for category in kb.categories:
            pages = len(kb.entries_of(category.id)) // PAGE_SIZE + 1
            yield Action(ActionKind.CATEGORY, category.id).to_payload()
            for page in range(pages + 1):
                yield Action(ActionKind.CATEGORY, f"{category.id}@{page}").to_payload()
