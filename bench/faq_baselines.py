"""Peer baselines on the same cases: RapidFuzz token_set_ratio and TF-IDF character n-grams."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from faq.evaluate import EvalCase, percentile
from faq.model import KnowledgeBase

WRONG_MAX = 0.03
OOS_MAX = 0.05
# A scorer returns the best entry id and its score for a message.
Scorer = Callable[[str], tuple[str, float]]


@dataclass(frozen=True, slots=True)
class BaselineReport:
    name: str
    top1: float
    threshold: float
    answer_accuracy: float
    wrong_answer_rate: float
    oos_false_answer_rate: float
    latency_p50_ms: float
    latency_p99_ms: float


def _texts(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    texts, owners = [], []
    for entry in kb.entries:
        for text in (entry.question, *entry.variants):
            texts.append(text)
            owners.append(entry.id)
    return texts, owners


def rapidfuzz_scorer(kb: KnowledgeBase) -> Scorer:
    texts, owners = _texts(kb)
    processed = [utils.default_process(t) for t in texts]

    def top(text: str) -> tuple[str, float]:
        found = process.extractOne(
            utils.default_process(text), processed, scorer=fuzz.token_set_ratio, processor=None
        )
        return (owners[found[2]], found[1] / 100) if found else ("", 0.0)

    return top


def tfidf_scorer(kb: KnowledgeBase) -> Scorer:
    from sklearn.feature_extraction.text import TfidfVectorizer  # dev-only dependency

    texts, owners = _texts(kb)
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=True)
    matrix = vectorizer.fit_transform(texts)

    def top(text: str) -> tuple[str, float]:
        sims = (matrix @ vectorizer.transform([text]).T).toarray().ravel()
        best = int(sims.argmax())
        return owners[best], float(sims[best])

    return top


def evaluate_baseline(name: str, scorer: Scorer, cases: Sequence[EvalCase]) -> BaselineReport:
    """Answer when the score reaches a threshold; the threshold that is best on these cases."""
    tops, latencies = [], []
    for case in cases:
        started = time.perf_counter()
        tops.append(scorer(case.text))
        latencies.append((time.perf_counter() - started) * 1000)
    inside = [(c, t) for c, t in zip(cases, tops, strict=True) if c.expected is not None]
    outside = [t for c, t in zip(cases, tops, strict=True) if c.expected is None]
    top1 = sum(1 for c, (eid, _) in inside if eid == c.expected) / max(len(inside), 1)
    best = (0.0, 1.01, 0.0, 0.0)
    for threshold in sorted({s for _, s in tops}):
        right = sum(1 for c, (e, s) in inside if s >= threshold and e == c.expected)
        wrong = sum(1 for c, (e, s) in inside if s >= threshold and e != c.expected)
        false = sum(1 for _, s in outside if s >= threshold)
        acc, wr = right / len(inside), wrong / len(inside)
        oos = false / max(len(outside), 1)
        if wr <= WRONG_MAX and oos <= OOS_MAX and acc > best[0]:
            best = (acc, threshold, wr, oos)
    return BaselineReport(
        name,
        round(top1, 4),
        round(best[1], 3),
        round(best[0], 4),
        round(best[2], 4),
        round(best[3], 4),
        round(percentile(latencies, 0.5), 3),
        round(percentile(latencies, 0.99), 3),
    )
