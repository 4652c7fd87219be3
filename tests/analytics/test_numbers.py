"""Numbers with the Russian decimal comma."""

from __future__ import annotations

from analytics.numbers import decimal


def test_decimal_writes_a_comma() -> None:
    assert decimal(100 * 6 / 17, 1) == "35,3"
    assert decimal(4.5) == "4,5"
    assert decimal(3.0) == "3"
    assert decimal(12, 1) == "12,0"
