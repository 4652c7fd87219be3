"""The web chat moves the numbered copy of a message's buttons onto them, and nothing else."""

from __future__ import annotations

from bots.web.chat_text import to_web_numbers, to_web_text
from handlers.model import Action, ActionKind, Button


def entry(question: str) -> tuple[Button]:
    return (Button(question, Action(ActionKind.ENTRY, question)),)


ROWS = (entry("Как получить субсидию на ЖКУ?"), entry("Как получить материнский капитал?"),
        (Button("Ничего не подходит", Action(ActionKind.SPECIALIST)),))
CLARIFY = ("Уточните, пожалуйста, что вы имели в виду:\n"
           "1. Как получить субсидию на ЖКУ?\n"
           "2. Как получить материнский капитал?\n\n"
           "Нажмите на кнопку с подходящим вопросом или напишите его номер.")


def test_the_numbered_copy_of_the_buttons_is_left_out() -> None:
    assert to_web_text(CLARIFY, ROWS) == (
        "Уточните, пожалуйста, что вы имели в виду:\n\n"
        "Нажмите на кнопку с подходящим вопросом или напишите его номер.")


def test_a_line_that_is_not_the_button_at_its_number_stays() -> None:
    swapped = CLARIFY.replace("1. Как получить субсидию", "3. Как получить субсидию")
    assert "3. Как получить субсидию на ЖКУ?" in to_web_text(swapped, ROWS)
    assert to_web_text("1. Как получить субсидию на ЖКУ?", ()) == (
        "1. Как получить субсидию на ЖКУ?")
    answer = "Нужно:\n1. Паспорт\n2. СНИЛС"
    assert to_web_text(answer, (entry("Паспорт"),)) == "Нужно:\n2. СНИЛС"


def test_the_buttons_whose_line_is_left_out_carry_its_number() -> None:
    assert to_web_numbers(CLARIFY, ROWS) == [[1], [2], [None]]
    assert to_web_numbers("Выберите тему", ROWS) == [[None], [None], [None]]
    assert to_web_numbers("Нужно:\n1. Паспорт\n2. СНИЛС", (entry("Паспорт"),)) == [[1]]
