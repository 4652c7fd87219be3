"""The thread adapter of the knowledge-base editor."""

from __future__ import annotations

import threading

import pytest

from faq.model import Entry
from priemnaya.kb_editor import ThreadedKbEditor


async def test_adds_in_a_worker_thread_and_passes_errors_on() -> None:
    seen: list[tuple[str, bool]] = []

    def add(entry: Entry) -> None:
        if entry.id == "dup":
            raise ValueError("duplicate id")
        seen.append((entry.id, threading.current_thread() is threading.main_thread()))

    editor = ThreadedKbEditor(add)
    await editor.add_entry(Entry("a.b", "a", "Вопрос?", "Ответ."))
    assert seen == [("a.b", False)]
    with pytest.raises(ValueError, match="duplicate"):
        await editor.add_entry(Entry("dup", "a", "В?", "О."))
