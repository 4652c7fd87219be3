"""Specialists see what clients sent from any channel, attachments included."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.model import Attachment, AttachmentKind, Author
from handlers.ports import HistoryItem
from handlers.texts import JinjaTexts


def test_history_lists_vk_attachment_links_under_the_message() -> None:
    item = HistoryItem(1, Author.CLIENT, "вот справка", datetime(2026, 11, 23, 5, 0, tzinfo=UTC),
                       attachments=(Attachment(AttachmentKind.DOCUMENT,
                                               "https://vk.example/doc.pdf", "справка.pdf"),))
    text = JinjaTexts().render("staff_history", client_name="Иван", channel="vk", category="",
                               queue="general", urgent=True, reason="", conversation_id=3,
                               items=[item], timezone=UTC, plain=False)
    assert text.startswith("❗ СРОЧНО. Обращение №3: Иван, ВКонтакте")
    expected = "[23.11 05:00] Клиент: вот справка\n  [документ: справка.pdf https://vk.example/doc.pdf]"
    assert expected in text
