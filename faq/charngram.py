"""A second, independent ranker: TF-IDF cosine of character n-grams over the entries' questions.

It reads spelling rather than lemmas, so it errs differently from the lemma ranker; whether the
two agree on the best entry is one of the signals of the answer decision (docs/faq-matching.md).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from faq.model import Entry, KnowledgeBase
from faq.normalize import canonical

# Per word: ids and counts of the n-grams the knowledge base has, and what the others add to
# the squared norm of a message.
WordGrams = tuple[npt.NDArray[np.int32], npt.NDArray[np.float64], float]
# 1 + ln(count) for the counts words and messages have: looked up rather than a log per n-gram.
_TF = tuple(1.0 + math.log(c) if c else 0.0 for c in range(64))


@dataclass(frozen=True, slots=True)
class CharSettings:
    low: int = 3
    high: int = 5


@dataclass(frozen=True, slots=True)
class CharQuery:
    """A message's known n-grams (ascending ids) and their weights, L2-normalised over all its
    n-grams, the unknown ones included."""

    ids: npt.NDArray[np.int32]
    weights: npt.NDArray[np.float64]


def ngrams(text: str, settings: CharSettings) -> Counter[str]:
    """Character n-grams of each word padded with spaces, so word starts and ends count."""
    grams: Counter[str] = Counter()
    for word in canonical(text).split():
        grams.update(_word_ngrams(word, settings))
    return grams


def _word_ngrams(word: str, settings: CharSettings) -> Counter[str]:
    padded = f" {word} "
    sizes = range(settings.low, settings.high + 1)
    return Counter(padded[i : i + n] for n in sizes for i in range(len(padded) - n + 1))


class CharRanker:
    """Cosine of a message against each entry's question, variants and keywords as one text.

    Rows live in two flat arrays: a dict per entry would cost hundreds of MB at 10,000 entries.
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
        self._words: dict[str, WordGrams] = {}
        self._idf_array = np.asarray(self._idf, np.float64)
        ids, weights, starts = array("i"), array("d"), [0]
        for entry in kb.entries:
            row = self.query(_text(entry))
            ids.extend(row.ids.tolist())
            weights.extend(row.weights.tolist())
            starts.append(len(ids))
        self._ids = np.frombuffer(ids, np.int32) if ids else np.zeros(0, np.int32)
        self._weights = np.frombuffer(weights, np.float64) if weights else np.zeros(0)
        self._starts = starts
        self._words.clear()  # the entries' words are not the clients'
        self._docs = {e.id: d for d, e in enumerate(kb.entries)}

    def query(self, text: str) -> CharQuery:
        return self.query_words(canonical(text).split())

    def query_words(self, words: Iterable[str]) -> CharQuery:
        """The query of a message given as its canonical words (faq.normalize.tokenize)."""
        parts = [self._word(word) for word in words]
        unseen = sum(part[2] for part in parts)
        if not parts or not any(len(part[0]) for part in parts):
            return CharQuery(np.zeros(0, np.int32), np.zeros(0))
        ids, counts = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        unique, where = np.unique(ids, return_inverse=True)
        weights = self._idf_array[unique] * (1.0 + np.log(np.bincount(where, counts)))
        norm = float(weights @ weights) + unseen
        return CharQuery(unique, weights / math.sqrt(norm) if norm else weights * 0.0)

    def scores(self, query: CharQuery, entry_ids: Sequence[str]) -> list[float]:
        """Cosine of the message with each entry, in the order given."""
        if not entry_ids or not len(query.ids):
            return [0.0] * len(entry_ids)
        starts = self._starts
        spans = [(starts[d], starts[d + 1]) for d in map(self._docs.__getitem__, entry_ids)]
        # A dense copy of the message (calloc'd, so only touched pages cost) lets all the
        # candidates' rows be looked up in one gather instead of one lookup per n-gram.
        dense = np.zeros(len(self._idf))
        dense[query.ids] = query.weights
        rows = np.concatenate([self._ids[a:b] for a, b in spans])
        products = dense[rows] * np.concatenate([self._weights[a:b] for a, b in spans])
        # Each entry's sum; reduceat cannot sum an empty row (a question of no letters).
        offsets, at = [], 0
        for a, b in spans:
            offsets.append(at)
            at += b - a
        if all(b > a for a, b in spans):
            return [round(x, 4) for x in np.add.reduceat(products, offsets).tolist()]
        return [round(float(products[o : o + b - a].sum()), 4)
                for o, (a, b) in zip(offsets, spans, strict=True)]

    def _word(self, word: str) -> WordGrams:
        cached = self._words.get(word)
        if cached is None:
            grams = _word_ngrams(word, self._settings)
            vocab = self._vocab
            known = [(vocab[g], c) for g, c in grams.items() if g in vocab]
            unseen = self._unseen_idf
            cached = (
                np.fromiter((i for i, _ in known), np.int32, len(known)),
                np.fromiter((c for _, c in known), np.float64, len(known)),
                sum((_tf(c) * unseen) ** 2 for g, c in grams.items() if g not in vocab),
            )
            if len(self._words) < 100_000:
                self._words[word] = cached
        return cached


def _tf(count: int) -> float:
    return _TF[count] if count < len(_TF) else 1.0 + math.log(count)


def _text(entry: Entry) -> str:
    return " ".join((entry.question, *entry.variants, *entry.keywords))
