"""Masking of personal data on realistic client messages."""

from __future__ import annotations

import logging

import pytest

from handlers.pii import (
    CARD,
    PHONE,
    SNILS,
    MaskingFilter,
    mask,
    personal_data,
    public_contacts,
    snils_is_valid,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("Мой СНИЛС 112-233-445 95, помогите", "Мой СНИЛС [СНИЛС], помогите"),
    ("снилс 11223344595", "снилс [СНИЛС]"),
    ("карта 4111 1111 1111 1111 не проходит", "карта [карта] не проходит"),
    ("номер карты 4111111111111111", "номер карты [карта]"),
    ("паспорт серия 65 12 № 123456 выдан", "паспорт серия [паспорт] выдан"),
    ("Паспорт 6512123456", "Паспорт [паспорт]"),
    ("данные: 65 12 123456", "данные: [паспорт]"),
    ("ИНН 7707083893", "ИНН [ИНН]"),
    ("мой инн 500100732259", "мой инн [ИНН]"),
    ("полис ОМС 6652030876001234", "полис ОМС [полис ОМС]"),
    ("пишите на ivanova.m@mail.ru или ivan_2@yandex.ru",
     "пишите на [e-mail] или [e-mail]"),
    ("звоните +7 (912) 345-67-89 или 8 912 345 67 89", "звоните [телефон] или [телефон]"),
    ("тел.89123456789, домашний 8(343)371-00-00", "тел.[телефон], домашний [телефон]"),
    ("мобильный 912 345-67-89", "мобильный [телефон]"),
    ("Телефон: 8-912-345-67-89.", "Телефон: [телефон]."),
    ("+79123456789", "[телефон]"),
    ("т. 8 (34345) 2-12-34", "т. [телефон]"),
    ("номер 112 233 445 95", "номер [СНИЛС]"),
    ("серия 6512 номер 123456", "серия [паспорт]"),
    ("иван@почта.рф", "[e-mail]"),
    ("карта 4276-1600-0000-0001, ИНН 7707083893", "карта [карта], ИНН [ИНН]"),
    # Named, a number is masked even when a mistyped digit breaks its check.
    ("СНИЛС 123-456-789 01", "СНИЛС [СНИЛС]"),
    ("снилс 12345678901", "снилс [СНИЛС]"),
    ("СНИЛС 112-233-445 96 (ошибка в контрольном числе)",
     "СНИЛС [СНИЛС] (ошибка в контрольном числе)"),
    ("номер страхового свидетельства 12345678901", "номер страхового свидетельства [СНИЛС]"),
    ("123-456-789 01", "[СНИЛС]"),
    ("карта 2202 2000 0000 0001", "карта [карта]"),
    ("по карте 4111 1111 1111 1112 не пришло", "по карте [карта] не пришло"),
    ("ИНН 7707083894", "ИНН [ИНН]"),
    ("переведите на счёт 40817810099910004312", "переведите на счёт [счёт]"),
    ("р/с 40702810900000000001", "р/с [счёт]"),
])
def test_personal_data_is_masked(text: str, expected: str) -> None:
    assert mask(text) == expected


@pytest.mark.parametrize("text", [
    "Позвоните по 112 или на горячую линию 8-800-2000-122",
    "Приём 27.11.2026 с 9:00, выплата 15 000 рублей, справка № 45",
    "номер заявления 4111 1111 1111 1112",
    "справка 7707083894 от 01.02.2026",
    "карта есть, а выплата 15 000 рублей за 2026 год не пришла",
    "Как оформить единое пособие на ребёнка?",
    "",
])
def test_text_without_personal_data_is_unchanged(text: str) -> None:
    assert mask(text) == text


def test_personal_data_lists_what_was_found_in_order() -> None:
    text = "тел 8 912 345-67-89, СНИЛС 123-456-789 01, карта 4111 1111 1111 1111"
    assert personal_data(text) == [PHONE, SNILS, CARD]
    assert personal_data("Как оформить единое пособие? [СНИЛС]") == []


def test_snils_checksum() -> None:
    assert snils_is_valid("11223344595")
    assert not snils_is_valid("11223344596")
    assert snils_is_valid("00100199800")  # issued before the check number: not checked
    assert not snils_is_valid("1122334459")


def test_log_filter_masks_the_formatted_message(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.pii")
    logger.addFilter(MaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="test.pii"):
            logger.info("client wrote %s", "мой телефон +7 912 345-67-89")
    finally:
        logger.filters.clear()
    assert caplog.records[0].getMessage() == "client wrote мой телефон [телефон]"


def test_the_institutions_own_contacts_stay_readable() -> None:
    public = public_contacts(["Звоните: 8 (343) 371-00-00, пишите на usp@egov66.ru.",
                              "Горячая линия 8-800-100-00-01"])
    assert public == frozenset({"3433710000", "usp@egov66.ru"})
    text = ("Наш телефон +7 343 371-00-00, почта USP@egov66.ru; ваш: +7 912 345-67-89, "
            "anna@mail.ru")
    assert mask(text, public) == ("Наш телефон +7 343 371-00-00, почта USP@egov66.ru; ваш: "
                                  f"{PHONE}, [e-mail]")
    assert mask(text) == f"Наш телефон {PHONE}, почта [e-mail]; ваш: {PHONE}, [e-mail]"
