from __future__ import annotations

import math
from collections import Counter

import pytest

from faq.charngram import CharRanker, CharSettings, ngrams
from faq.model import Category, Entry, KnowledgeBase
from faq.normalize import tokenize

KB = KnowledgeBase(
    (Category("c", "Услуги"),),
    (
        Entry("walkers", "c", "Прокат ходунков", "Ответ.", variants=("взять ходунки на время",)),
        Entry("taxi", "c", "Социальное такси", "Ответ.", keywords=("соцтакси",)),
        Entry("address", "c", "Где вы находитесь?", "Ответ."),
    ),
)


def test_ngrams_pad_words_and_count_repeats() -> None:
    grams = ngrams("Такси, такси!", CharSettings(low=3, high=3))
    assert grams[" та"] == 2
    assert grams["си "] == 2
    assert "и т" not in grams  # n-grams never cross a word boundary


def test_misspelt_message_scores_its_entry_highest() -> None:
    ranker = CharRanker(KB)
    scores = ranker.scores(ranker.query("ходунков прокат нужен"), ["taxi", "walkers", "address"])
    assert scores[1] > 0.3
    assert scores[1] == max(scores)
    typo = ranker.scores(ranker.query("сациальное таксе"), ["walkers", "taxi"])
    assert typo[1] > typo[0]


def test_scores_keep_the_order_given_and_are_cosines() -> None:
    ranker = CharRanker(KB)
    exact = ranker.scores(ranker.query("Социальное такси соцтакси"), ["taxi"])
    assert exact == [1.0]
    assert ranker.scores(ranker.query("qqq zzz"), ["walkers", "taxi"]) == [0.0, 0.0]
    assert ranker.scores(ranker.query("такси"), []) == []


def test_empty_knowledge_base_and_empty_message() -> None:
    ranker = CharRanker(KnowledgeBase((), ()))
    assert ranker.scores(ranker.query("такси"), []) == []
    assert CharRanker(KB).scores(CharRanker(KB).query(""), ["taxi"]) == [0.0]


def _reference_cosine(kb: KnowledgeBase, text: str, entry: Entry) -> float:
    """The documented TF-IDF cosine, computed from scratch: (1 + ln tf) · idf, L2-normalised."""
    settings = CharSettings()
    docs = [ngrams(" ".join((e.question, *e.variants, *e.keywords)), settings) for e in kb.entries]
    n = len(kb.entries)

    def vector(grams: Counter[str]) -> dict[str, float]:
        df = {g: sum(1 for d in docs if g in d) for g in grams}
        weights = {g: (1 + math.log(c)) * (math.log((n + 1) / (df[g] + 1)) + 1) for g, c in
                   grams.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {g: w / norm for g, w in weights.items()}

    message, row = vector(ngrams(text, settings)), vector(docs[kb.entries.index(entry)])
    return sum(w * row.get(g, 0.0) for g, w in message.items())


@pytest.mark.parametrize(
    "text",
    [
        "такси такси такси",
        "социальное таксиии, такси",
        "ходунки ходунков на прокат zzz",
        "такси " * 70,  # counts past the table of 1 + ln(tf)
    ],
)
def test_scores_are_the_reference_cosine_with_repeated_and_unknown_ngrams(text: str) -> None:
    ranker = CharRanker(KB)
    ids = [e.id for e in KB.entries]
    expected = [round(_reference_cosine(KB, text, e), 4) for e in KB.entries]
    assert ranker.scores(ranker.query(text), ids) == pytest.approx(expected, abs=1e-4)
    assert ranker.scores(ranker.query_words(tokenize(text)), ids) == ranker.scores(
        ranker.query(text), ids)


def test_an_entry_without_letters_scores_zero_and_leaves_the_others_alone() -> None:
    kb = KnowledgeBase(KB.categories, (*KB.entries, Entry("dots", "c", "???", "Ответ.")))
    ranker = CharRanker(kb)
    query = ranker.query("социальное такси, где вы находитесь")
    together = ranker.scores(query, ["taxi", "dots", "address"])
    assert together == [*ranker.scores(query, ["taxi"]), 0.0, *ranker.scores(query, ["address"])]
    assert together[0] > 0 and together[2] > 0
    assert ranker.scores(query, ["dots"]) == [0.0]
