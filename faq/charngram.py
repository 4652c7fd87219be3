"""A second, independent ranker: TF-IDF cosine of character n-grams over the entries' questions.

It reads spelling rather than lemmas, so it errs differently from the lemma ranker; whether the
two agree on the best entry is one of the signals of the answer decision (docs/faq-matching.md).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from faq.model import Entry, KnowledgeBase
from faq.normalize import canonical


@dataclass(frozen=True, slots=True)
class CharSettings:
    low: int = 3
    high: int = 5


@dataclass(frozen=True, slots=True)
class CharQuery:
    """A message's known n-grams (sorted ids) with their weights, L2-normalised over all."""

    ids: npt.NDArray[np.int32]
    weights: npt.NDArray[np.float32]


def ngrams(text: str, settings: CharSettings) -> Counter[str]:
    """Character n-grams of each word padded with spaces, so word starts and ends count."""
    padded = [f" {word} " for word in canonical(text).split()]
    sizes = range(settings.low, settings.high + 1)
    return Counter(
        p[i : i + size] for p in padded for size in sizes for i in range(len(p) - size + 1)
    )


class CharRanker:
    """Cosine of a message against each entry's question, variants and keywords as one text.

    Rows live in one CSR-like pair of arrays: a dict per entry would cost hundreds of MB at
    10,000 entries.
    """

    def __init__(self, kb: KnowledgeBase, settings: CharSettings | None = None) -> None:
        self._settings = settings or CharSettings()
        df: Counter[str] = Counter()
        for entry in kb.entries:
            df.update(ngrams(_text(entry), self._settings).keys())
        self._vocab = {g: i for i, g in enumerate(sorted(df))}
        total = len(kb.entries)
        self._idf = [math.log((total + 1) / (df[g] + 1)) + 1.0 for g in self._vocab]
        del df
        # An n-gram no entry has is the rarest kind: it weighs in the message's norm as such.
        self._unseen_idf = math.log(total + 1) + 1.0
        # Counted twice rather than kept: all entries' Counters at once cost 10× the arrays.
        rows = [self._row(ngrams(_text(e), self._settings)) for e in kb.entries]
        self._starts: list[int] = np.cumsum([0, *(len(r[0]) for r in rows)]).tolist()
        self._ids = np.concatenate([r[0] for r in rows] or [np.zeros(0, np.int32)])
        self._weights = np.concatenate([r[1] for r in rows] or [np.zeros(0, np.float32)])
        self._docs = {e.id: d for d, e in enumerate(kb.entries)}

    def query(self, text: str) -> CharQuery:
        ids, weights = self._row(ngrams(text, self._settings))
        return CharQuery(ids, weights)

    def scores(self, query: CharQuery, entry_ids: Sequence[str]) -> list[float]:
        """Cosine of the message with each entry, in the order given."""
        if not entry_ids:
            return []
        docs = [self._docs[e] for e in entry_ids]
        spans = [(self._starts[d], self._starts[d + 1]) for d in docs]
        ids = np.concatenate([self._ids[a:b] for a, b in spans])
        if not len(ids) or not len(query.ids):
            return [0.0] * len(docs)
        weights = np.concatenate([self._weights[a:b] for a, b in spans])
        # Every candidate's n-grams at once: one lookup into the message's sorted ids.
        found = np.searchsorted(query.ids, ids).clip(max=len(query.ids) - 1)
        products = np.where(query.ids[found] == ids, query.weights[found] * weights, 0.0)
        totals = np.cumsum(np.concatenate(([0.0], products)))
        ends = np.cumsum([b - a for a, b in spans])
        starts = ends - [b - a for a, b in spans]
        return [round(float(x), 4) for x in totals[ends] - totals[starts]]

    def _row(self, grams: Counter[str]) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        vocab, idf, unseen = self._vocab, self._idf, self._unseen_idf
        known: list[tuple[int, float]] = []
        norm = 0.0
        for gram, count in grams.items():
            index = vocab.get(gram)
            weight = unseen if index is None else idf[index]
            if count > 1:
                weight *= 1.0 + math.log(count)
            norm += weight * weight
            if index is not None:
                known.append((index, weight))
        known.sort()
        scale = 1.0 / math.sqrt(norm) if norm else 0.0
        ids = np.fromiter((i for i, _ in known), np.int32, len(known))
        weights = np.fromiter((w * scale for _, w in known), np.float32, len(known))
        return ids, weights


def _text(entry: Entry) -> str:
    return " ".join((entry.question, *entry.variants, *entry.keywords))
