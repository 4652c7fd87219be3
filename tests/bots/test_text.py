"""split_text: parts within the limit, cut where a reader expects it."""

from __future__ import annotations

import pytest

from bots.text import split_text


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_short_text_is_one_part() -> None:
    assert split_text("Добрый день", 4096) == ["Добрый день"]
    assert split_text("", 10) == [""]


def test_cuts_between_paragraphs_then_sentences_then_words() -> None:
    text = "Первый абзац подлиннее.\n\nВторой."
    assert split_text(text, 30) == ["Первый абзац подлиннее.", "Второй."]
    assert split_text("Первое предложение. Второе.", 24) == ["Первое предложение.", "Второе."]
    assert split_text("одно двадцать слово", 13) == ["одно двадцать", "слово"]


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    parts = split_text("а" * 25, 10)
    assert parts == ["а" * 10, "а" * 10, "а" * 5]


def test_every_part_fits_and_nothing_is_lost() -> None:
    text = " ".join(f"слово{n}." for n in range(3000))
    parts = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in parts)
    assert " ".join(parts) == text


def test_measure_counts_platform_units() -> None:
    text = "😀" * 10  # two UTF-16 units each
    parts = split_text(text, 6, measure=utf16)
    assert parts == ["😀😀😀", "😀😀😀", "😀😀😀", "😀"]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_text("x", 0)
