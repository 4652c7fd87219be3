"""Adapts a blocking knowledge-base writer (e.g. LiveFaq.add_entry) to the async port."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from faq.model import Entry


class ThreadedKbEditor:
    """KnowledgeBaseEditor over a synchronous add: the YAML write and reload run in a thread.

    Wiring: rt.kb_editor = ThreadedKbEditor(lambda e: live.add_entry(e, suggestions_path))
    """

    def __init__(self, add: Callable[[Entry], None]) -> None:
        self._add = add
        self._lock = asyncio.Lock()  # one file write at a time

    async def add_entry(self, entry: Entry) -> None:
        async with self._lock:
            await asyncio.to_thread(self._add, entry)
