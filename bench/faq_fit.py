"""Fit the answer-confidence coefficients (faq/confidence.py) on the tuning half of dev.

A logistic regression predicts "the best candidate is right" from the decision's signals;
out-of-scope messages are negatives weighing OOS_WEIGHT (their budget, 0.05 of ~35 cases, is
about five times tighter than that of wrong answers, 0.03 of ~175). Then `answer_confidence` is
the value that maximises answer_accuracy on the tuning half within the constraints; the
held-out half and the sample KB are only reported. scikit-learn is a dev dependency: the
coefficients ship as constants in ConfidenceWeights, the intercept shifted so that the chosen
cut-off reads as the default `answer_confidence` (same decisions, one setting for both sets).
Run: python -m bench.faq_fit [eval dir] [--lexical]   (--lexical: the set used without vectors)
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, fields, replace
from pathlib import Path

from sklearn.linear_model import LogisticRegression

from bench.faq_tune import (
    OOS_MAX,
    WRONG_MAX,
    Ranked,
    _short,
    rank_all,
    report,
    split,
    with_values,
)
from faq.confidence import ConfidenceWeights, Features, features
from faq.evaluate import EvalReport, load_cases
from faq.loader import load_kb
from faq.matcher import MatcherConfig, answer_threshold, build_matcher

OOS_WEIGHT = 6.0
# Mild regularisation; C in {0.3, 3} and OOS_WEIGHT in {3, 4, 6, 8} were compared.
C = 3.0
ALL_NAMES = tuple(f.name for f in fields(Features))


def training_rows(
    ranked: Ranked, config: MatcherConfig, names: tuple[str, ...]
) -> tuple[list[list[float]], list[int], list[float]]:
    xs: list[list[float]] = []
    ys: list[int] = []
    weights: list[float] = []
    for case, candidates, signals, fixed in ranked:
        if fixed is not None or not candidates:
            continue
        found = features(candidates, signals, answer_threshold(config, signals.terms))
        xs.append([getattr(found, name) for name in names])
        ys.append(int(candidates[0].entry_id == case.expected))
        weights.append(OOS_WEIGHT if case.expected is None else 1.0)
    return xs, ys, weights


def fit(ranked: Ranked, config: MatcherConfig, names: tuple[str, ...]) -> ConfidenceWeights:
    xs, ys, weights = training_rows(ranked, config, names)
    model = LogisticRegression(C=C, max_iter=5000).fit(xs, ys, sample_weight=weights)
    coefficients = {n: round(float(c), 2) for n, c in zip(names, model.coef_[0], strict=True)}
    return ConfidenceWeights(intercept=round(float(model.intercept_[0]), 2), **coefficients)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def to_default_cut(config: MatcherConfig, lexical: bool) -> MatcherConfig:
    """Shift the intercept so that the chosen cut-off is the default answer_confidence."""
    chosen = config.lexical_weights if lexical else config.weights
    target = MatcherConfig().answer_confidence
    shift = _logit(target) - _logit(config.answer_confidence)
    shifted = replace(chosen, intercept=round(chosen.intercept + shift, 2))
    key = "lexical_weights" if lexical else "weights"
    return replace(config, answer_confidence=target, **{key: shifted})


def best_confidence(ranked: Ranked, config: MatcherConfig) -> tuple[MatcherConfig, EvalReport]:
    best: tuple[tuple[float, float], MatcherConfig, EvalReport] | None = None
    for value in (x / 100 for x in range(30, 96)):
        candidate = replace(config, answer_confidence=value)
        rep = report(ranked, candidate)
        if rep.wrong_answer_rate > WRONG_MAX or rep.oos_false_answer_rate > OOS_MAX:
            continue
        key = (rep.answer_accuracy, rep.resolution_rate)
        if best is None or key > best[0]:
            best = (key, candidate, rep)
    if best is None:
        raise SystemExit("no answer_confidence meets the constraints")
    return best[1], best[2]


def main(eval_dir: Path, lexical: bool = False, sample_dir: Path = Path("kb/sample")) -> None:
    kb = load_kb([eval_dir / "kb_social_protection.yaml"])
    tune, hold = split(load_cases(eval_dir / "dev_cases.jsonl"))
    semantic = not lexical
    base = MatcherConfig()
    for arg in sys.argv[1:]:
        if arg.startswith("--set="):
            name, _, value = arg[6:].partition("=")
            base = with_values(base, {name: float(value)})
    tuned = rank_all(build_matcher(kb, base, semantic=semantic), tune)
    names = tuple(n for n in ALL_NAMES if semantic or not n.startswith("semantic"))
    weights = fit(tuned, base, names)
    key = "lexical_weights" if lexical else "weights"
    config, rep = best_confidence(tuned, replace(base, **{key: weights}))
    print("fitted answer_confidence:", config.answer_confidence)
    config = to_default_cut(config, lexical)
    print("weights:", asdict(getattr(config, key)))
    print("  tune  ", _short(rep))
    held = rank_all(build_matcher(kb, config, semantic=semantic), hold)
    print("  hold  ", _short(report(held, config)))
    sample = load_kb([sample_dir])
    cases = load_cases(sample_dir / "cases.jsonl")
    ranked = rank_all(build_matcher(sample, config, semantic=semantic), cases)
    print("  sample", _short(report(ranked, config)))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0]) if args else Path("../shared/eval"), lexical="--lexical" in sys.argv)
