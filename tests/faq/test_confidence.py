from __future__ import annotations

from dataclasses import replace

from faq.confidence import ConfidenceWeights, Signals, char_best, confidence, features
from faq.matcher import MatcherConfig, decide
from faq.model import Candidate, Decision

RANKED = [Candidate("a", 0.6), Candidate("b", 0.45), Candidate("c", 0.1), Candidate("d", 0.05)]
# Only agreement and unknown words count: the decision's mechanics, not the fitted values.
WEIGHTS = ConfidenceWeights(
    intercept=-1.0,
    margin=0.0,
    char=0.0,
    agreement=2.0,
    relative=0.0,
    log_terms=0.0,
    unknown_share=-4.0,
    unknown_terms=0.0,
)
CONFIG = MatcherConfig(answer_confidence=0.5, clarify_threshold=0.15, weights=WEIGHTS)


def test_char_best_prefers_the_lemma_ranking_on_ties() -> None:
    assert char_best(Signals()) is None
    assert char_best(Signals(char=(0.4, 0.4, 0.1))) == 0
    assert char_best(Signals(char=(0.2, 0.1, 0.7))) == 2


def test_features_of_a_ranking() -> None:
    found = features(RANKED, Signals(terms=3, char=(0.5, 0.2)), threshold=0.5)
    assert round(found.margin, 2) == 0.15
    assert found.agreement == 1.0
    assert found.char == 0.5
    assert round(found.relative, 2) == 1.2


def test_confidence_rises_with_agreement_and_falls_with_unknown_words() -> None:
    agree = features(RANKED, Signals(char=(0.5, 0.2)), 0.5)
    disagree = features(RANKED, Signals(char=(0.2, 0.5)), 0.5)
    assert confidence(agree, WEIGHTS) > 0.5 > confidence(disagree, WEIGHTS)
    default = ConfidenceWeights()
    assert confidence(agree, default) > confidence(disagree, default)
    strange = features(RANKED, Signals(char=(0.5, 0.2), unknown_share=0.6), 0.5)
    assert confidence(strange, default) < confidence(agree, default)


def test_rankers_agreeing_answer() -> None:
    result = decide(RANKED, CONFIG, Signals(terms=3, char=(0.5, 0.2, 0.1, 0.0)))
    assert result.decision is Decision.ANSWER
    assert result.best == RANKED[0]


def test_rankers_disagreeing_clarify_offering_both_choices() -> None:
    result = decide(RANKED, CONFIG, Signals(terms=3, char=(0.2, 0.1, 0.1, 0.7)))
    assert result.decision is Decision.CLARIFY
    assert [c.entry_id for c in result.candidates] == ["a", "b", "d"]


def test_mostly_unknown_words_clarify_even_when_rankers_agree() -> None:
    signals = Signals(terms=3, unknown_share=0.5, char=(0.5, 0.2, 0.1, 0.0))
    assert decide(RANKED, CONFIG, signals).decision is Decision.CLARIFY


def test_near_equal_siblings_clarify_whatever_the_confidence() -> None:
    siblings = [Candidate("a", 0.9), Candidate("b", 0.88)]
    result = decide(siblings, CONFIG, Signals(terms=3, char=(0.9, 0.1)))
    assert result.decision is Decision.CLARIFY
    assert {c.entry_id for c in result.candidates} == {"a", "b"}


# The word-vector share counts too, for the rankers' consensus below.
MEANING = MatcherConfig(
    answer_confidence=0.5, clarify_threshold=0.15,
    weights=ConfidenceWeights(
        intercept=-1.0, margin=0.0, char=0.0, agreement=2.0, relative=0.0, log_terms=0.0,
        unknown_share=-4.0, unknown_terms=0.0, semantic=0.0, semantic_margin=0.0,
    ),
)
CLOSE = [Candidate("a", 0.6), Candidate("b", 0.55), Candidate("c", 0.3), Candidate("d", 0.1)]


def test_a_close_runner_up_both_other_rankers_prefer_is_answered() -> None:
    signals = Signals(terms=3, char=(0.2, 0.6, 0.1, 0.0), semantic=(0.5, 0.8, 0.3, 0.1))
    result = decide(CLOSE, MEANING, signals)
    assert result.decision is Decision.ANSWER
    assert [c.entry_id for c in result.candidates] == ["b", "a", "c"]
    # Not sure enough of it: the lemma ranking's first is not answered against both rankers.
    doubtful = Signals(
        terms=3, unknown_share=0.5, char=(0.2, 0.6, 0.1, 0.0), semantic=(0.5, 0.8, 0.3, 0.1)
    )
    assert decide(CLOSE, MEANING, doubtful).decision is Decision.CLARIFY


def test_no_consensus_when_the_rankers_differ_or_the_runner_up_is_far() -> None:
    # The n-gram ranker prefers "b", the word vectors "c": the lemma decision stands.
    split = Signals(terms=3, char=(0.2, 0.6, 0.1, 0.0), semantic=(0.5, 0.6, 0.8, 0.1))
    assert decide(CLOSE, MEANING, split).decision is Decision.CLARIFY
    # "c" scores half of the best: too far behind for the two rankers to overrule it.
    far = Signals(terms=3, char=(0.2, 0.1, 0.6, 0.0), semantic=(0.5, 0.3, 0.8, 0.1))
    assert decide(CLOSE, MEANING, far).decision is Decision.CLARIFY
    # Switched off, the runner-up is never answered.
    off = replace(MEANING, consensus_reach=0)
    agreeing = Signals(terms=3, char=(0.2, 0.6, 0.1, 0.0), semantic=(0.5, 0.8, 0.3, 0.1))
    assert decide(CLOSE, off, agreeing).decision is Decision.CLARIFY


def test_near_equal_siblings_answered_when_both_other_rankers_tell_them_apart() -> None:
    siblings = [Candidate("a", 0.9), Candidate("b", 0.88), Candidate("c", 0.2)]
    # The n-gram ranker agrees with the first, the word vectors lead for it by 0.1.
    apart = Signals(terms=3, char=(0.9, 0.1, 0.0), semantic=(0.8, 0.7, 0.1))
    result = decide(siblings, MEANING, apart)
    assert result.decision is Decision.ANSWER
    assert result.best == siblings[0]
    # A lead under `agreement_lead`: the siblings are offered as before.
    close = Signals(terms=3, char=(0.9, 0.1, 0.0), semantic=(0.8, 0.79, 0.1))
    assert decide(siblings, MEANING, close).decision is Decision.CLARIFY
    # Without word vectors the margin rule stands.
    assert decide(siblings, MEANING, Signals(terms=3, char=(0.9, 0.1, 0.0))).decision is (
        Decision.CLARIFY
    )
