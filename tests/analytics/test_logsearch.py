"""Log search terms: the patterns the database looks for and the check on the masked text."""

from __future__ import annotations

from analytics.logsearch import matches, parse_terms


def test_a_word_is_looked_for_by_the_prefixes_of_its_forms() -> None:
    (term,) = parse_terms("Ребёнок,")
    assert set(term.patterns()) == {"ребен", "дет"}
    assert matches("Пособие на детей", (term,))
    assert not matches("Детский сад", (term,))  # shares the prefix, is not a form


def test_other_text_is_matched_as_typed() -> None:
    terms = parse_terms("100%_ 345-67")
    assert [t.patterns() for t in terms] == [("100%_",), ("345-67",)]
    assert matches("номер 345-67 и 100%_", terms)
    assert not matches("номер 345-67", terms)
