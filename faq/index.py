"""Inverted index over the knowledge base: term → entries, IDF, question units, exact keys."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from faq.analyzer import Analyzer
from faq.model import Entry, KnowledgeBase
from faq.morph import stem_key
from faq.normalize import canonical, tokenize


@dataclass(frozen=True, slots=True)
class FieldWeights:
    """How much a term found in each field counts; questions are what clients paraphrase."""

    question: float = 1.0
    keyword: float = 1.0
    category: float = 0.4
    answer: float = 0.3
    answer_length_power: float = 0.5
    answer_df: float = 1.0


@dataclass(frozen=True, slots=True)
class Index:
    ids: tuple[str, ...]
    postings: Mapping[str, Mapping[int, float]]
    idf: Mapping[str, float]
    # Per entry: the term sets of its question, each variant and each keyword phrase.
    units: tuple[tuple[frozenset[str], ...], ...]
    unit_idf: tuple[tuple[float, ...], ...]
    keyphrases: tuple[tuple[frozenset[str], ...], ...]
    exact: Mapping[str, int]
    # Surface words by first letter: typo correction compares only within a bucket.
    surface: Mapping[str, tuple[str, ...]]
    vocabulary: frozenset[str]
    unknown_idf: float
    # Stem key → the most widespread KB term with it, for words the KB uses in another form.
    related: Mapping[str, str]


def build_index(kb: KnowledgeBase, analyzer: Analyzer, weights: FieldWeights) -> Index:
    postings: dict[str, dict[int, float]] = defaultdict(dict)
    units: list[tuple[frozenset[str], ...]] = []
    keyphrases: list[tuple[frozenset[str], ...]] = []
    exact: dict[str, int] = {}
    words: set[str] = set()
    titles = {c.id: c.title for c in kb.categories}
    lengths = [len(tokenize(e.answer)) or 1 for e in kb.entries]
    average = sum(lengths) / max(len(lengths), 1)
    for doc, entry in enumerate(kb.entries):
        # BM25-style length normalisation: a long answer mentions many words in passing.
        scale = min(1.0, (average / lengths[doc]) ** weights.answer_length_power)
        fields = _fields(entry, titles.get(entry.category, ""), weights, scale)
        for text, weight in fields:
            words.update(tokenize(text))
            # An answer's "не" qualifies its sentence, not what the entry is about.
            known = _negates_nothing if text is entry.answer else None
            for term in analyzer.analyse(tokenize(text), known)[0]:
                postings[term][doc] = max(postings[term].get(doc, 0.0), weight)
        questions = (entry.question, *entry.variants)
        units.append(
            tuple(frozenset(analyzer.text_terms(q)) for q in (*questions, *entry.keywords))
        )
        keyphrases.append(tuple(frozenset(analyzer.text_terms(k)) for k in entry.keywords))
        for question in questions:
            exact.setdefault(canonical(question), doc)
    total = len(kb.entries)
    idf = {t: _idf(total, _df(docs, weights)) for t, docs in postings.items()}
    return Index(
        ids=tuple(e.id for e in kb.entries),
        postings=dict(postings),
        idf=idf,
        units=tuple(units),
        unit_idf=tuple(tuple(sum(idf[t] for t in u) for u in doc_units) for doc_units in units),
        keyphrases=tuple(keyphrases),
        exact=exact,
        surface=_buckets(words),
        vocabulary=frozenset(words),
        unknown_idf=_idf(total, 0),
        related=_related(postings),
    )


def _negates_nothing(term: str) -> bool:
    return False


def _fields(
    entry: Entry, category_title: str, w: FieldWeights, answer_scale: float
) -> list[tuple[str, float]]:
    return [
        (entry.question, w.question),
        *((v, w.question) for v in entry.variants),
        *((k, w.keyword) for k in entry.keywords),
        (category_title, w.category),
        (entry.answer, w.answer * answer_scale),
    ]


def _df(docs: Mapping[int, float], weights: FieldWeights) -> float:
    """Document frequency where a mention only in an answer counts `answer_df` of one.

    A word most answers use in passing ("область", "заявление") can still tell questions apart.
    """
    head = sum(1 for w in docs.values() if w > weights.answer)
    return head + weights.answer_df * (len(docs) - head) if head else len(docs)


def _idf(total: int, df: float) -> float:
    """BM25's IDF, never negative: a term in every entry still counts a little."""
    return math.log(1.0 + (total - df + 0.5) / (df + 0.5))


def _related(postings: Mapping[str, Mapping[int, float]]) -> dict[str, str]:
    related: dict[str, str] = {}
    for term in sorted(postings, key=lambda t: (-len(postings[t]), t)):
        key = stem_key(term) if term.isalpha() else None
        if key is not None:
            related.setdefault(key, term)
    return related


def _buckets(words: set[str]) -> dict[str, tuple[str, ...]]:
    buckets: dict[str, list[str]] = defaultdict(list)
    for word in sorted(words):
        if word.isalpha():
            buckets[word[0]].append(word)
    return {k: tuple(v) for k, v in buckets.items()}
