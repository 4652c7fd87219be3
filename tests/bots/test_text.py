"""Splitting long texts at natural boundaries within a platform's limit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bots.text import split_text, to_storable, unix_time, utf16_len


def test_utf16_counts_astral_emoji_twice() -> None:
    assert utf16_len("Лол 😂") == 6
    assert utf16_len("👨‍👩‍👧") == 8


def test_short_text_is_one_part() -> None:
    assert split_text("Здравствуйте!", 4096) == ["Здравствуйте!"]
    assert split_text("", 10) == [""]


def test_splits_at_paragraphs_first() -> None:
    text = "Первый абзац про пособие.\n\nВторой абзац про субсидию."
    assert split_text(text, 30) == ["Первый абзац про пособие.", "Второй абзац про субсидию."]


def test_splits_at_spaces_when_no_line_breaks() -> None:
    parts = split_text("слово " * 100, 50)
    assert all(len(p) <= 50 for p in parts)
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in parts)
    assert " ".join(parts).split() == ["слово"] * 100


def test_limit_is_measured_in_utf16_units() -> None:
    text = "😂" * 3000  # 6000 UTF-16 units, 3000 code points
    parts = split_text(text, 4096, utf16_len)
    assert [utf16_len(p) for p in parts] == [4096, 1904]
    assert "".join(parts) == text


def test_hard_cut_without_any_boundary() -> None:
    assert split_text("а" * 25, 10) == ["а" * 10, "а" * 10, "а" * 5]


def test_nonpositive_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        split_text("x", 0)


def test_empty_text_is_one_empty_part() -> None:
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
    parts = split_text(text, 6, measure=utf16_len)
    assert parts == ["😀😀😀", "😀😀😀", "😀😀😀", "😀"]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        split_text("x", 0)


def test_unix_time_reads_platform_timestamps_and_nothing_else() -> None:
    assert unix_time(1764230400) == datetime(2025, 11, 27, 8, 0, tzinfo=UTC)
    assert unix_time("2025-11-27T13:00:00+05:00") == datetime(2025, 11, 27, 8, 0, tzinfo=UTC)
    for junk in (None, "1764230400", "2025-11-27T08:00:00", "вчера", 1764230400.5, True, 0,
                 -5, 2**40):
        assert unix_time(junk) is None


def test_lone_surrogates_become_replacement_characters() -> None:
    assert to_storable("\ud800 привет \udfff") == "\ufffd привет \ufffd"
    assert to_storable("\ud83d\ude02") == "😂"  # a pair split in two halves stays one emoji
    assert to_storable("Лол 😂") == "Лол 😂"
    to_storable("\udc80x").encode("utf-8")  # storable: no UnicodeEncodeError
    assert to_storable("a\x00b\x00") == "ab"  # PostgreSQL refuses NUL in text
