"""People's names are masked in what administrators read; ordinary words are left alone."""

from __future__ import annotations

import pytest

from handlers.names import mask_names
from handlers.pii import mask, personal_data


@pytest.mark.parametrize(("text", "masked"), [
    ("Меня зовут Иванова Мария Петровна", "Меня зовут [ФИО]"),
    ("иванова мария петровна", "[ФИО]"),
    ("Здравствуйте, Галина Ивановна!", "Здравствуйте, [ФИО]!"),
    ("позовите пожалуйста Светлану Андреевну", "позовите пожалуйста [ФИО]"),
    ("меня зовут галина", "меня зовут [ФИО]"),
    ("ФАМИЛИЯ КУЗНЕЦОВ", "ФАМИЛИЯ [ФИО]"),
    ("Иванова М. П., пенсионерка", "[ФИО], пенсионерка"),
    ("Иванов Пётр Сергеевич 1961 г.р.", "[ФИО] 1961 г.р."),
    ("мой сын Петров Егор и дочь Анна", "мой сын [ФИО] и дочь Анна"),
])
def test_names_are_masked(text: str, masked: str) -> None:
    assert mask_names(text) == masked


@pytest.mark.parametrize("text", [
    "Как оформить пособие на ребёнка?",
    "Вера в лучшее и надежда на помощь",
    "живу на улице Карла Маркса 5",
    "Социальный Фонд России, Екатеринбург",
    "Центр «Надежда» работает?",
    "Добрый день, Галина",  # a first name alone identifies no one
])
def test_ordinary_words_streets_and_lone_first_names_stay(text: str) -> None:
    assert mask_names(text) == text


def test_names_are_masked_only_where_asked() -> None:
    text = "Мария Петровна, телефон +7 912 345-67-89"
    assert mask(text) == "Мария Петровна, телефон [телефон]"  # every log line: no dictionary
    assert mask(text, names=True) == "[ФИО], телефон [телефон]"
    assert personal_data(text, names=True) == ["[ФИО]", "[телефон]"]


@pytest.mark.parametrize(("text", "masked"), [
    ("Иванова", "[ФИО]"),
    ("справка Петров", "справка [ФИО]"),
    ("пособие на ребёнка", "пособие на ребёнка"),
    ("улица Ленина", "улица Ленина"),
])
def test_a_lone_name_word_is_masked_where_asked(text: str, masked: str) -> None:
    assert mask_names(text, lone=True) == masked
