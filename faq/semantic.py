"""Word-vector evidence: how much of a message an entry explains by meaning, not only by word.

Vectors come from navec's Russian news embeddings as bundled in the `natasha` wheel; without
them the matcher runs on lexical signals alone (docs/faq-matching.md).
"""

from __future__ import annotations

import functools
import importlib.metadata
from array import array
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from faq.index import Index
from faq.synonyms import CONCEPT_MARK

Vector = npt.NDArray[np.float32]
# An entry with no term that has a vector reads row 0 and is then scored 0.
_NO_ROW = np.zeros(1, np.int32)
# Up to this many knowledge-base terms with vectors (a KB of some hundreds of entries), a
# client's word keeps its cosines with all of them: the next message with that word reads them
# instead of multiplying vectors again. A larger KB multiplies only the candidates' terms.
COSINE_ROWS_UP_TO = 4096
# Words whose cosines are kept; the least recently used go first (at most ~32 MB).
COSINE_WORDS = 2048
NAVEC_FILE = "natasha/data/emb/navec_news_v1_1B_250K_300d_100q.tar"


class WordVectors(Protocol):
    """What the matcher needs from an embedding: a unit vector per word, or None."""

    dim: int

    def vector(self, word: str) -> Vector | None: ...


class NavecVectors:
    """navec's product-quantised table; a word is decoded on demand (~10 µs)."""

    def __init__(self, navec: Any) -> None:
        self._navec = navec
        self.dim = int(navec.pq.dim)

    def vector(self, word: str) -> Vector | None:
        if word not in self._navec:
            return None
        return _unit(np.asarray(self._navec[word], dtype=np.float32))


class DictVectors:
    """Vectors from a mapping: tests, and institutions with an embedding of their own."""

    def __init__(self, vectors: Mapping[str, Sequence[float]]) -> None:
        self._vectors = {w: _unit(np.asarray(v, dtype=np.float32)) for w, v in vectors.items()}
        self.dim = len(next(iter(self._vectors.values()))) if self._vectors else 0

    def vector(self, word: str) -> Vector | None:
        return self._vectors.get(word)


def load_navec(path: Path | None = None) -> WordVectors | None:
    """navec vectors from `path`, or from the installed natasha wheel; None when unavailable."""
    try:
        from navec import Navec

        if path is None:
            path = Path(str(importlib.metadata.distribution("natasha").locate_file(NAVEC_FILE)))
        return NavecVectors(Navec.load(str(path)))
    except (ImportError, importlib.metadata.PackageNotFoundError, OSError, ValueError):
        return None


@functools.cache
def default_word_vectors() -> WordVectors | None:
    """One table per process: it takes ~0.9 s and ~50 MB to load."""
    return load_navec()


@dataclass(frozen=True, slots=True)
class MessageVectors:
    """A message's content terms that have vectors: unit rows and their IDF weights."""

    rows: tuple[Vector, ...]  # stacked only where a product needs them as one matrix
    weights: npt.NDArray[np.float64]
    terms: tuple[str, ...]
    # Terms without a vector (numbers, rare words) and their weights: explained only by an
    # entry that has them.
    missing: tuple[tuple[str, float], ...]


class SemanticIndex:
    """Vectors of the knowledge base's terms and, per entry, which of them its text uses."""

    def __init__(self, index: Index, vectors: WordVectors) -> None:
        self._vectors = vectors
        self._postings = index.postings
        terms = [t for t in sorted(index.idf) if _has_letters(t)]
        found = {t: v for t in terms if (v := vectors.vector(t)) is not None}
        self._row = {t: i for i, t in enumerate(found)}
        table = list(found.values())
        self._table = np.stack(table) if table else np.zeros((0, vectors.dim), np.float32)
        # Answers included: measured on dev, questions alone lost the signal's gain.
        self._entry_rows = _entry_rows(index, self._row)
        self._cache: dict[str, Vector | None] = {}
        # A client's word -> its row of cosines in _cosine_rows, least recently used first.
        self._cosines: OrderedDict[str, int] = OrderedDict()
        self._cosine_rows: npt.NDArray[np.float32] | None = None
        self._keep_cosines = len(self._table) <= COSINE_ROWS_UP_TO

    def message(self, weights: Mapping[str, float]) -> MessageVectors:
        rows: list[Vector] = []
        kept: list[str] = []
        missing: list[tuple[str, float]] = []
        for term, weight in weights.items():
            if term.startswith(CONCEPT_MARK):
                # A concept repeats words of the message that are terms of their own.
                continue
            vector = self._term_vector(term)
            if vector is None:
                missing.append((term, weight))
            else:
                rows.append(vector)
                kept.append(term)
        mass = np.fromiter((weights[t] for t in kept), np.float64, len(kept))
        return MessageVectors(tuple(rows), mass, tuple(kept), tuple(missing))

    def scores(self, message: MessageVectors, docs: Sequence[int]) -> list[float]:
        """Per entry, the IDF-weighted share of the message it explains by meaning.

        Each message term counts by its best cosine with the entry's terms (1 when the entry
        has the term itself), so a paraphrase counts and an odd word out ("щенок" asked of
        an entry about homeless people) does not.
        """
        total = float(message.weights.sum()) + sum(w for _, w in message.missing)
        spans = [self._entry_rows[d] for d in docs]
        literal = ([self._literal(message, d) for d in docs] if message.missing
                   else [0.0] * len(docs))
        if total <= 0 or not message.terms or not any(len(s) for s in spans):
            return [round(x / total, 4) if total > 0 else 0.0 for x in literal]
        # One product (or lookup) for all the candidates, then a maximum per entry.
        rows = np.concatenate([s if len(s) else _NO_ROW for s in spans])
        cosines = self._cosines_with(message, rows)
        starts, at = [], 0
        for s in spans:
            starts.append(at)
            at += max(len(s), 1)
        best = np.maximum.reduceat(cosines, starts, axis=1).clip(0.0, 1.0)
        shares = message.weights @ best
        return [
            round(((float(x) if len(s) else 0.0) + extra) / total, 4)
            for x, s, extra in zip(shares, spans, literal, strict=True)
        ]

    def _cosines_with(
        self, message: MessageVectors, rows: npt.NDArray[np.int32]
    ) -> npt.NDArray[np.float32]:
        """Cosines of the message's terms (rows) with the given table rows (columns)."""
        if not self._keep_cosines:
            return np.stack(message.rows) @ self._table[rows].T
        kept = self._cosines
        if self._cosine_rows is None:  # pages are only touched as rows are written
            self._cosine_rows = np.empty((COSINE_WORDS, len(self._table)), np.float32)
        table = self._cosine_rows
        slots = []
        for term, vector in zip(message.terms, message.rows, strict=True):
            slot = kept.pop(term, None)
            if slot is None:
                slot = len(kept) if len(kept) < COSINE_WORDS else kept.popitem(last=False)[1]
                np.matmul(self._table, vector, out=table[slot])
            kept[term] = slot  # now the most recently used
            slots.append(slot)
        # Two takes: ~3x faster than stacking the words' lines and indexing the columns.
        return table.take(slots, 0).take(rows, 1)

    def _literal(self, message: MessageVectors, doc: int) -> float:
        return sum(w for t, w in message.missing if doc in self._postings.get(t, {}))

    def _term_vector(self, term: str) -> Vector | None:
        row = self._row.get(term)
        if row is not None:
            vector: Vector = self._table[row]
            return vector
        if not _has_letters(term):
            return None
        if term not in self._cache:
            # Clients' own words are unbounded: the cache is capped like the typo cache.
            found = self._vectors.vector(term)
            if len(self._cache) >= 100_000:
                return found
            self._cache[term] = found
        return self._cache[term]


def _entry_rows(index: Index, row: Mapping[str, int]) -> list[npt.NDArray[np.int32]]:
    # Compact arrays while collecting: sets of ints would cost ~25 MB at 10,000 entries.
    per_entry = [array("i") for _ in index.ids]
    for term, postings in index.postings.items():
        position = row.get(term)
        if position is not None:
            for doc in postings:
                per_entry[doc].append(position)
    return [np.sort(np.frombuffer(rows, np.int32)) for rows in per_entry]


def _has_letters(term: str) -> bool:
    # Concept terms ("~жку") and numbers have no word vector of their own.
    return term[:1].isalpha()


def _unit(vector: Vector) -> Vector:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
