"""The staff notices' wording: a line of its own for each mark, and only what is hidden."""

from __future__ import annotations

from datetime import UTC

import pytest

from handlers.texts import JinjaTexts

MIRROR = {"origin": "desk", "specialist": "Ольга Иванова", "internal": False, "link": ""}


@pytest.mark.parametrize("internal", [False, True])
def test_a_file_and_a_hidden_mark_start_lines_of_their_own(internal: bool) -> None:
    texts = JinjaTexts()
    sent = texts.render("staff_mirror", **{**MIRROR, "internal": internal},
                        text="Бланк заявления", files=["Бланк.pdf"], hidden=False)
    assert sent.splitlines()[-1] == "📎 отправлен файл: Бланк.pdf"
    assert sent.splitlines()[0].endswith("Бланк заявления")
    noted = texts.render("staff_mirror", **MIRROR, text="Позвонила, проверила", files=[],
                         hidden=True)
    assert noted.splitlines()[-1].startswith("🔒 Персональные данные скрыты")


def history(data_hidden: bool, files_on_desk: bool) -> str:
    return JinjaTexts().render(
        "staff_history", client_name="А. И.", channel="vk", category="", queue="", reason="",
        urgent=False, conversation_id=1, items=[], timezone=UTC, plain=False, link="",
        hidden=data_hidden or files_on_desk, data_hidden=data_hidden,
        files_on_desk=files_on_desk, queue_titles={}, entries={}, categories={})


def test_the_history_says_only_what_it_leaves_out() -> None:
    assert "🔒 Файлы клиента здесь не показаны" in history(False, True)
    assert "🔒 Персональные данные клиента здесь не показаны" in history(True, False)
    assert "🔒 Персональные данные и файлы клиента здесь не показаны" in history(True, True)
    assert "🔒" not in history(False, False)
