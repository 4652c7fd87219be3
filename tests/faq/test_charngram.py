from __future__ import annotations

from faq.charngram import CharRanker, CharSettings, ngrams
from faq.model import Category, Entry, KnowledgeBase

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
