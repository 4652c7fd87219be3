"""Evaluation on labelled cases: the metrics of `faq eval`, defined once for every caller."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from faq.model import Decision, MatchResult


@dataclass(frozen=True, slots=True)
class EvalCase:
    text: str
    expected: str | None


@dataclass(frozen=True, slots=True)
class EvalReport:
    cases: int
    in_scope: int
    out_of_scope: int
    answer_accuracy: float
    clarify_hit_rate: float
    resolution_rate: float
    wrong_answer_rate: float
    oos_false_answer_rate: float
    oos_clarify_rate: float
    latency_p50_ms: float
    latency_p99_ms: float

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def parse_cases(lines: Iterable[str]) -> list[EvalCase]:
    cases: list[EvalCase] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as error:
            raise ValueError(f"line {number}: not JSON ({error})") from None
        expected = data.get("expected") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str) or not (
            expected is None or isinstance(expected, str)
        ):
            raise ValueError(f"line {number}: need text and expected (entry id or null)")
        if not data["text"].strip():
            raise ValueError(f"line {number}: empty text")
        cases.append(EvalCase(data["text"], expected))
    return cases


def load_cases(path: Path) -> list[EvalCase]:
    return parse_cases(path.read_text(encoding="utf-8-sig").splitlines())


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _rate(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def score(
    results: Sequence[tuple[EvalCase, MatchResult]], latencies_ms: Sequence[float] = ()
) -> EvalReport:
    inside = [(c, r) for c, r in results if c.expected is not None]
    outside = [r for c, r in results if c.expected is None]
    answered = sum(1 for c, r in inside if _answered(r) == c.expected)
    wrong = sum(1 for c, r in inside if _answered(r) not in (None, c.expected))
    hits = sum(
        1
        for c, r in inside
        if r.decision is Decision.CLARIFY and any(o.entry_id == c.expected for o in r.candidates)
    )
    return EvalReport(
        cases=len(results),
        in_scope=len(inside),
        out_of_scope=len(outside),
        answer_accuracy=_rate(answered, len(inside)),
        clarify_hit_rate=_rate(hits, len(inside)),
        resolution_rate=_rate(answered + hits, len(inside)),
        wrong_answer_rate=_rate(wrong, len(inside)),
        oos_false_answer_rate=_rate(sum(1 for r in outside if _answered(r)), len(outside)),
        oos_clarify_rate=_rate(
            sum(1 for r in outside if r.decision is Decision.CLARIFY), len(outside)
        ),
        latency_p50_ms=round(percentile(latencies_ms, 0.5), 3),
        latency_p99_ms=round(percentile(latencies_ms, 0.99), 3),
    )


def _answered(result: MatchResult) -> str | None:
    if result.decision is Decision.ANSWER and result.best is not None:
        return result.best.entry_id
    return None


def run_cases(
    match: Callable[[str], MatchResult], cases: Sequence[EvalCase]
) -> tuple[list[tuple[EvalCase, MatchResult]], list[float]]:
    results: list[tuple[EvalCase, MatchResult]] = []
    latencies: list[float] = []
    for case in cases:
        started = time.perf_counter()
        result = match(case.text)
        latencies.append((time.perf_counter() - started) * 1000)
        results.append((case, result))
    return results, latencies


def evaluate(match: Callable[[str], MatchResult], cases: Sequence[EvalCase]) -> EvalReport:
    results, latencies = run_cases(match, cases)
    return score(results, latencies)
