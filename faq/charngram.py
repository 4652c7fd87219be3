"""A second, independent ranker: TF-IDF cosine of character n-grams over the entries' questions.

It reads spelling rather than lemmas, so it errs differently from the lemma ranker; whether the
two agree on the best entry is one of the signals of the answer decision (docs/faq-matching.md).
"""

from __future__ import annotations

import math
from array import array
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from faq.model import Entry, KnowledgeBase
from faq.normalize import canonical

# Per word: (n-gram id, count) of the n-grams the knowledge base has, and what the others add
# to the squared norm of a message.
WordGrams = tuple[tuple[tuple[int, int], ...], tuple[float, ...]]
# 1 + ln(count) for the counts words and messages have: looked up rather than a log per n-gram.
_TF = tuple(1.0 + math.log(c) if c else 0.0 for c in range(64))


@dataclass(frozen=True, slots=True)
class CharSettings:
    low: int = 3
    high: int = 5


@dataclass(frozen=True, slots=True)
class CharQuery:
    """A message's known n-grams → weight, L2-normalised over all its n-grams."""

    weights: Mapping[int, float]

    def arrays(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        ids = np.fromiter(self.weights.keys(), np.int64, len(self.weights))
        return ids, np.fromiter(self.weights.values(), np.float64, len(self.weights))


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
        ids, weights, self._starts = array("i"), array("d"), [0]
        for entry in kb.entries:
            row = self.query(_text(entry)).weights
            ids.extend(row.keys())
            weights.extend(row.values())
            self._starts.append(len(ids))
        self._ids = np.frombuffer(ids, np.int32) if ids else np.zeros(0, np.int32)
        self._weights = np.frombuffer(weights, np.float64) if weights else np.zeros(0)
        self._words.clear()  # the entries' words are not the clients'
        self._docs = {e.id: d for d, e in enumerate(kb.entries)}

    def query(self, text: str) -> CharQuery:
        return self.query_words(canonical(text).split())

    def query_words(self, words: Iterable[str]) -> CharQuery:
        """The query of a message given as its canonical words (faq.normalize.tokenize)."""
        counts: dict[int, int] = {}
        unseen: list[float] = []
        get = counts.get
        for word in words:
            known, others = self._word(word)
            for index, count in known:
                counts[index] = get(index, 0) + count
            unseen.extend(others)
        idf, tf = self._idf, _TF
        if counts and max(counts.values()) >= len(tf):
            tf = tuple(_tf(c) for c in range(max(counts.values()) + 1))
        weights = {i: idf[i] * tf[c] for i, c in counts.items()}
        norm = sum(w * w for w in weights.values())
        norm += sum(unseen)
        scale = 1.0 / math.sqrt(norm) if norm else 0.0
        return CharQuery({i: w * scale for i, w in weights.items()})

    def scores(self, query: CharQuery, entry_ids: Sequence[str]) -> list[float]:
        """Cosine of the message with each entry, in the order given."""
        docs = [self._docs[e] for e in entry_ids]
        spans = [(self._starts[d], self._starts[d + 1]) for d in docs]
        if not spans or not query.weights:
            return [0.0] * len(spans)
        # A dense copy of the message (calloc'd, so only touched pages cost) lets all the
        # candidates' rows be looked up in one gather instead of one dict lookup per n-gram.
        dense = np.zeros(len(self._idf))
        ids, weights = query.arrays()
        dense[ids] = weights
        rows = np.concatenate([self._ids[a:b] for a, b in spans])
        products = dense[rows] * np.concatenate([self._weights[a:b] for a, b in spans])
        totals = np.concatenate(([0.0], np.cumsum(products)))
        lengths = np.array([b - a for a, b in spans])
        ends = np.cumsum(lengths)
        sums = totals[ends] - totals[ends - lengths]
        return [round(x, 4) for x in sums.tolist()]

    def _word(self, word: str) -> WordGrams:
        cached = self._words.get(word)
        if cached is None:
            grams = _word_ngrams(word, self._settings)
            vocab = self._vocab
            known = tuple((vocab[g], c) for g, c in grams.items() if g in vocab)
            unseen = self._unseen_idf
            cached = (
                known,
                tuple((_tf(c) * unseen) ** 2 for g, c in grams.items() if g not in vocab),
            )
            if len(self._words) < 100_000:
                self._words[word] = cached
        return cached


def _tf(count: int) -> float:
    return _TF[count] if count < len(_TF) else 1.0 + math.log(count)


def _text(entry: Entry) -> str:
    return " ".join((entry.question, *entry.variants, *entry.keywords))
