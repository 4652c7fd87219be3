"""List the cases the matcher does not answer correctly, and why (docs/faq-matching.md).

Per in-scope case not answered with its entry: where the expected entry ranks, the margin to
the runner-up, the answer confidence and its features; then the out-of-scope cases answered.
Run: python -m bench.faq_failures [eval dir | kb dir with cases.jsonl] [tune|hold|all]
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path

from bench.faq_tune import rank_all, split
from faq.confidence import Signals, confidence, features
from faq.evaluate import EvalCase, load_cases
from faq.loader import load_kb
from faq.matcher import MatcherConfig, answer_threshold, build_matcher, decide
from faq.model import Candidate, Decision, KnowledgeBase


def load(source: Path) -> tuple[KnowledgeBase, list[EvalCase]]:
    if (source / "dev_cases.jsonl").exists():
        return load_kb([source / "kb_social_protection.yaml"]), load_cases(
            source / "dev_cases.jsonl"
        )
    return load_kb([source]), load_cases(source / "cases.jsonl")


def reason(
    case: EvalCase, ranked: list[Candidate], signals: Signals, config: MatcherConfig
) -> str:
    ids = [c.entry_id for c in ranked]
    if not ranked or ranked[0].score < config.clarify_threshold:
        return "no match (score below clarify_threshold)"
    if case.expected not in ids:
        return "not ranked"
    if ids[0] != case.expected:
        return f"ranked {ids.index(case.expected) + 1}"
    margin = ranked[0].score - (ranked[1].score if len(ranked) > 1 else 0.0)
    weights = config.weights if signals.semantic else config.lexical_weights
    sure = confidence(features(ranked, signals, answer_threshold(config, signals.terms)), weights)
    low = sure < config.answer_confidence
    if margin < config.margin:
        return "top-1, margin too small" + (" and low confidence" if low else "")
    return "top-1, low confidence"


def main(source: Path, half: str = "all") -> None:
    kb, cases = load(source)
    if half != "all":
        cases = split(cases)[0 if half == "tune" else 1]
    config = MatcherConfig()
    matcher = build_matcher(kb, config)
    counts: Counter[str] = Counter()
    for case, ranked, signals, fixed in rank_all(matcher, cases):
        result = fixed or decide(ranked, config, signals)
        answered = (
            result.best.entry_id if result.decision is Decision.ANSWER and result.best else None
        )
        if case.expected is None:
            if answered:
                counts["out of scope answered"] += 1
                print(f"OOS ANSWERED {answered} | {case.text[:100]}")
            continue
        if answered == case.expected:
            continue
        why = "wrong answer" if answered else reason(case, ranked, signals, config)
        counts["expected entry not top-1" if why.startswith(("ranked", "not")) else why] += 1
        found = (
            features(ranked, signals, answer_threshold(config, signals.terms)) if ranked else None
        )
        detail = " ".join(f"{k}={v:.2f}" for k, v in asdict(found).items()) if found else ""
        top = ", ".join(f"{c.entry_id} {c.score:.2f}" for c in ranked[:3])
        print(f"{why} | expected {case.expected} | {case.text[:100]}\n    {top}\n    {detail}")
    print("\n".join(f"{n:4} {k}" for k, n in counts.most_common()))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(Path(args[0]) if args else Path("../shared/eval"), args[1] if len(args) > 1 else "all")
