"""Fit the answer-confidence coefficients (faq/confidence.py) on the tuning half of dev.

A logistic regression predicts "the best candidate is right" from the decision's signals;
out-of-scope messages are negatives weighing OOS_WEIGHT (their budget, 0.05 of ~35 cases, is
about five times tighter than that of wrong answers, 0.03 of ~175). Then `answer_confidence` is
the value that maximises answer_accuracy on the tuning half within the constraints; the
held-out half and the sample KB are only reported. scikit-learn is a dev dependency: the
coefficients ship as constants in ConfidenceWeights. Run: python -m bench.faq_fit [eval dir]
"""

from __future__ import annotations

import sys
from dataclasses import asdict, fields, replace
from pathlib import Path

from sklearn.linear_model import LogisticRegression

from bench.faq_tune import OOS_MAX, WRONG_MAX, Ranked, _short, rank_all, report, split
from faq.confidence import ConfidenceWeights, Features, features
from faq.evaluate import EvalReport, load_cases
from faq.loader import load_kb
from faq.matcher import MatcherConfig, answer_threshold, build_matcher

OOS_WEIGHT = 6.0
# Mild regularisation; C in {0.3, 3} and OOS_WEIGHT in {3, 4, 6, 8} were compared.
C = 3.0
NAMES = tuple(f.name for f in fields(Features))


def training_rows(
    ranked: Ranked, config: MatcherConfig
) -> tuple[list[list[float]], list[int], list[float]]:
    xs: list[list[float]] = []
    ys: list[int] = []
    weights: list[float] = []
    for case, candidates, signals, fixed in ranked:
        if fixed is not None or not candidates:
            continue
        found = features(candidates, signals, answer_threshold(config, signals.terms))
        xs.append([getattr(found, name) for name in NAMES])
        ys.append(int(candidates[0].entry_id == case.expected))
        weights.append(OOS_WEIGHT if case.expected is None else 1.0)
    return xs, ys, weights


def fit(ranked: Ranked, config: MatcherConfig) -> ConfidenceWeights:
    xs, ys, weights = training_rows(ranked, config)
    model = LogisticRegression(C=C, max_iter=5000).fit(xs, ys, sample_weight=weights)
    coefficients = {n: round(float(c), 2) for n, c in zip(NAMES, model.coef_[0], strict=True)}
    return ConfidenceWeights(intercept=round(float(model.intercept_[0]), 2), **coefficients)


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


def main(eval_dir: Path, sample_dir: Path = Path("kb/sample")) -> None:
    kb = load_kb([eval_dir / "kb_social_protection.yaml"])
    tune, hold = split(load_cases(eval_dir / "dev_cases.jsonl"))
    matcher = build_matcher(kb)
    tuned = rank_all(matcher, tune)
    config = replace(MatcherConfig(), weights=fit(tuned, MatcherConfig()))
    config, rep = best_confidence(tuned, config)
    print("weights:", asdict(config.weights))
    print("answer_confidence:", config.answer_confidence)
    print("  tune  ", _short(rep))
    print("  hold  ", _short(report(rank_all(build_matcher(kb, config), hold), config)))
    sample = load_kb([sample_dir])
    cases = load_cases(sample_dir / "cases.jsonl")
    print("  sample", _short(report(rank_all(build_matcher(sample, config), cases), config)))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/eval"))
