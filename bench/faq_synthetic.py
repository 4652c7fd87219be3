"""Synthetic knowledge bases of any size, recombining a real one's vocabulary (fixed seed)."""

from __future__ import annotations

import random

from faq.model import Category, Entry, KnowledgeBase
from faq.normalize import tokenize

# Used when no real knowledge base is at hand: enough social-sector words to recombine.
_FALLBACK = [
    "пособие",
    "выплата",
    "компенсация",
    "субсидия",
    "справка",
    "заявление",
    "документы",
    "инвалидность",
    "пенсионер",
    "многодетная",
    "семья",
    "ребенок",
    "реабилитация",
    "коляска",
    "соцработник",
    "уход",
    "дом",
    "интернат",
    "путевка",
    "санаторий",
    "льгота",
    "проезд",
    "ветеран",
    "труда",
    "удостоверение",
    "адрес",
    "телефон",
    "запись",
    "прием",
    "жалоба",
    "продукты",
    "одежда",
    "помощь",
    "оформить",
    "получить",
    "подать",
    "где",
    "как",
    "сколько",
    "когда",
    "кому",
    "положено",
]


def _vocabulary(base: KnowledgeBase | None) -> tuple[list[str], list[str]]:
    if base is None:
        return list(_FALLBACK), list(_FALLBACK)
    questions = sorted(
        {w for e in base.entries for q in (e.question, *e.variants) for w in tokenize(q)}
    )
    answers = sorted({w for e in base.entries for w in tokenize(e.answer)})
    return questions, answers


def _sentence(rng: random.Random, words: list[str], low: int, high: int) -> str:
    return " ".join(rng.sample(words, rng.randint(low, high))).capitalize()


def synthetic_kb(size: int, base: KnowledgeBase | None, seed: int = 20261127) -> KnowledgeBase:
    rng = random.Random(seed)
    questions, answers = _vocabulary(base)
    categories = tuple(Category(f"c{i}", f"Категория {i}") for i in range(max(1, size // 100)))
    entries = []
    for number in range(size):
        entries.append(
            Entry(
                id=f"synthetic.{number}",
                category=categories[number % len(categories)].id,
                question=_sentence(rng, questions, 4, 8) + "?",
                answer=_sentence(rng, answers, 20, 40) + ".",
                variants=tuple(_sentence(rng, questions, 3, 7) for _ in range(2)),
            )
        )
    return KnowledgeBase(categories=categories, entries=tuple(entries))


def synthetic_queries(kb: KnowledgeBase, count: int, seed: int = 7) -> list[str]:
    """Paraphrase-like messages: an entry's question with a word dropped and order shuffled."""
    rng = random.Random(seed)
    queries = []
    for entry in rng.sample(list(kb.entries), min(count, len(kb.entries))):
        words = tokenize(entry.question)
        words.pop(rng.randrange(len(words)))
        rng.shuffle(words)
        queries.append(" ".join(words))
    return queries
