"""Splitting long texts at natural boundaries within a platform's limit."""

from __future__ import annotations

import pytest

from bots.text import split_text, utf16_len


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
