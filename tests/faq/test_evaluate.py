from __future__ import annotations

import pytest

from faq.evaluate import EvalCase, parse_cases, percentile, score
from faq.model import Candidate, Decision, MatchResult


def _answer(entry_id: str) -> MatchResult:
    return MatchResult(Decision.ANSWER, (Candidate(entry_id, 0.9),))


def _clarify(*ids: str) -> MatchResult:
    return MatchResult(Decision.CLARIFY, tuple(Candidate(i, 0.5) for i in ids))


NONE = MatchResult(Decision.NO_MATCH)


def test_metrics_on_hand_computed_cases() -> None:
    results = [
        (EvalCase("1", "a"), _answer("a")),  # answered right
        (EvalCase("2", "a"), _answer("b")),  # answered wrong
        (EvalCase("3", "a"), _clarify("b", "a")),  # clarify hit
        (EvalCase("4", "a"), _clarify("b", "c")),  # clarify miss
        (EvalCase("5", "b"), NONE),  # not resolved
        (EvalCase("6", None), _answer("a")),  # false answer
        (EvalCase("7", None), _clarify("a", "b")),  # oos clarify
        (EvalCase("8", None), NONE),
        (EvalCase("9", None), MatchResult(Decision.SMALLTALK)),
    ]
    report = score(results, [1.0, 2.0, 3.0, 4.0, 100.0])
    assert report.to_dict() == {
        "cases": 9,
        "in_scope": 5,
        "out_of_scope": 4,
        "answer_accuracy": 0.2,
        "clarify_hit_rate": 0.2,
        "resolution_rate": 0.4,
        "wrong_answer_rate": 0.2,
        "oos_false_answer_rate": 0.25,
        "oos_clarify_rate": 0.25,
        "latency_p50_ms": 3.0,
        "latency_p99_ms": 100.0,
    }


def test_empty_sets_give_zero_rates() -> None:
    assert score([]).answer_accuracy == 0.0
    assert percentile([], 0.5) == 0.0


def test_parse_cases_checks_each_line() -> None:
    cases = parse_cases(['{"text": "a", "expected": "x"}', "", '{"text": "b", "expected": null}'])
    assert cases == [EvalCase("a", "x"), EvalCase("b", None)]
    with pytest.raises(ValueError, match="line 1"):
        parse_cases(['{"text": 1, "expected": "x"}'])
