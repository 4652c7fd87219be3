"""How sure the matcher is that its best entry answers the message: one logistic score."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

from faq.model import Candidate


@dataclass(frozen=True, slots=True)
class Signals:
    """What the decision knows about a message besides the lemma ranking."""

    terms: int = 0
    # IDF-weighted share of the message made of words the knowledge base never uses.
    unknown_share: float = 0.0
    unknown_terms: int = 0
    # Character n-gram cosine of the first candidates of the lemma ranking, in its order.
    char: tuple[float, ...] = ()
    # Word-vector share of the message that each of the first candidates of the lemma ranking
    # explains (faq/semantic.py), in its order; empty without word vectors.
    semantic: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class ConfidenceWeights:
    """Logistic coefficients fitted by `python -m bench.faq_fit` on the tuning half of dev.

    The defaults need word vectors; LEXICAL_WEIGHTS serve when there are none.
    """

    intercept: float = -7.03
    margin: float = 0.64
    char: float = 0.86
    agreement: float = 0.67
    relative: float = 3.27
    log_terms: float = 1.21
    unknown_share: float = -2.23
    unknown_terms: float = 0.0
    semantic: float = 0.75
    semantic_margin: float = 3.4


@dataclass(frozen=True, slots=True)
class Features:
    margin: float
    char: float
    agreement: float
    relative: float
    log_terms: float
    unknown_share: float
    unknown_terms: float
    semantic: float
    # How far the best candidate's word-vector share is ahead of the best other candidate's
    # (negative: another one explains more of the message by meaning).
    semantic_margin: float


_NAMES = tuple(f.name for f in fields(Features))

# Fitted the same way without the word-vector feature: the matcher's weights when navec is
# not installed (`python -m bench.faq_fit --lexical`).
LEXICAL_WEIGHTS = ConfidenceWeights(
    intercept=-5.80,
    margin=1.51,
    char=0.86,
    agreement=0.76,
    relative=3.68,
    log_terms=0.39,
    unknown_share=-3.24,
    unknown_terms=0.41,
)


def char_best(signals: Signals) -> int | None:
    """Position of the character ranker's best candidate; ties go to the lemma ranking's."""
    if not signals.char:
        return None
    return max(range(len(signals.char)), key=lambda i: (signals.char[i], -i))


def features(ranked: Sequence[Candidate], signals: Signals, threshold: float) -> Features:
    top = ranked[0].score
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    return Features(
        margin=top - runner_up,
        char=signals.char[0] if signals.char else 0.0,
        agreement=1.0 if char_best(signals) == 0 else 0.0,
        relative=top / threshold if threshold > 0 else 0.0,
        log_terms=math.log(signals.terms + 1),
        unknown_share=signals.unknown_share,
        unknown_terms=float(signals.unknown_terms),
        semantic=signals.semantic[0] if signals.semantic else 0.0,
        semantic_margin=_lead(signals.semantic),
    )


def _lead(shares: Sequence[float]) -> float:
    if not shares:
        return 0.0
    return shares[0] - max(shares[1:]) if len(shares) > 1 else shares[0]


def confidence(found: Features, weights: ConfidenceWeights) -> float:
    """Probability-like score in (0, 1) that the best candidate is the right answer."""
    logit = weights.intercept + sum(
        getattr(weights, name) * getattr(found, name) for name in _NAMES
    )
    return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))
