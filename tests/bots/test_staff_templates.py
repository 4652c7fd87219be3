"""Specialists see what clients sent from any channel, attachments included."""

from __future__ import annotations

from datetime import UTC, datetime

from handlers.model import Attachment, AttachmentKind, Author
from handlers.ports import HistoryItem
from handlers.texts import JinjaTexts


def test_history_lists_attachments_under_the_message_and_links_the_desk() -> None:
    item = HistoryItem(1, Author.CLIENT, "вот справка", datetime(2026, 11, 23, 5, 0, tzinfo=UTC),
                       attachments=(Attachment(AttachmentKind.DOCUMENT, "", "справка.pdf"),))
    text = JinjaTexts().render("staff_history", client_name="И.", channel="vk", category="",
                               queue="general", urgent=True, reason="", conversation_id=3,
                               items=[item], timezone=UTC, plain=False, hidden=True,
                               link="https://priem.example.ru/desk/c/3")
    assert text.startswith("❗ СРОЧНО. Обращение №3: И., ВКонтакте")
    assert "[23.11 05:00] Клиент: вот справка\n  [документ: справка.pdf]\n" in text
    assert "вся переписка — в веб-кабинете: https://priem.example.ru/desk/c/3" in text


def test_history_names_presses_and_transfers_in_words() -> None:
    at = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    items = [HistoryItem(1, Author.CLIENT, "", at, action="start"),
             HistoryItem(2, Author.CLIENT, "", at, action="entry:family.allowance"),
             HistoryItem(4, Author.CLIENT, "", at, action="consent:decline"),
             HistoryItem(5, Author.CLIENT, "", at, action="consent:specialist"),
             HistoryItem(6, Author.CLIENT, "", at, action="close:keep"),
             HistoryItem(3, Author.SYSTEM, "", at, internal=True,
                         action="transfer:general>urgent")]
    text = JinjaTexts().render(
        "staff_history", client_name="Иван", channel="web", category="", queue="Срочные",
        urgent=False, reason="", conversation_id=3, items=items, timezone=UTC, plain=False,
        queue_titles={"general": "Общие вопросы", "urgent": "Срочные"},
        entries={"family.allowance": "Как оформить единое пособие?"}, categories={},
        hidden=False, link="")
    assert "Клиент: открыто меню" in text
    assert "Клиент: выбран вопрос «Как оформить единое пособие?»" in text
    assert "Клиент: отказ от согласия на обработку персональных данных" in text
    assert "Клиент: дано согласие на обработку персональных данных" in text
    assert "Клиент: решил(а) дождаться ответа, не отменять вопрос" in text
    assert "Система: передано из очереди «Общие вопросы» в очередь «Срочные»" in text
    assert "(без текста)" not in text
    assert "веб-кабинете" not in text
