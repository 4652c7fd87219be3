"""A client's message → weighted terms: layout fixed, typos mapped onto the KB vocabulary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from faq.analyzer import Analyzer
from faq.index import Index
from faq.layout import fix_latin_words, fix_layout
from faq.morph import stem_key
from faq.normalize import split_sentences, tokenize

# How "-тся"/"-ться" sound and get typed by ear, longest first.
SPOKEN_REFLEXIVE = ("тса", "ца")


@dataclass(frozen=True, slots=True)
class QuerySettings:
    # Sentences without "?" in a message that has one: background of a story, not the ask.
    story_weight: float = 0.5
    # fuzz.ratio a misspelt word needs to be read as a word of the knowledge base.
    typo_cutoff: float = 80.0
    typo_min_length: int = 4
    related_weight: float = 0.7


@dataclass(frozen=True, slots=True)
class Query:
    weights: Mapping[str, float]
    keys: tuple[str, ...]
    # The message with its keyboard layout fixed, for the character n-gram ranker.
    text: str = ""
    # Its words (faq.normalize.tokenize), so that later steps need not split it again.
    words: tuple[str, ...] = ()
    # Each synonym concept of the message → the terms of the phrase it was found by.
    members: Mapping[str, frozenset[str]] = field(default_factory=dict)


class QueryParser:
    def __init__(self, analyzer: Analyzer, index: Index, settings: QuerySettings) -> None:
        self._analyzer = analyzer
        self._index = index
        self._settings = settings
        self._corrections: dict[str, str] = {}

    def fix_layout(self, text: str) -> str:
        latin_ok = fix_latin_words(text, self._is_known, self._is_latin_word)
        return fix_layout(latin_ok, self._is_known)

    def _is_latin_word(self, word: str) -> bool:
        return len(word) > 2 and word.isascii() and word in self._index.vocabulary

    def parse(self, text: str) -> Query:
        fixed = self.fix_layout(text)
        return self.parse_fixed(fixed, tokenize(fixed))

    def parse_fixed(self, fixed: str, words: Sequence[str]) -> Query:
        """A message whose layout is already fixed, with its words."""
        sentences = split_sentences(fixed) or [fixed]
        asks = [s for s in sentences if "?" in s]
        # One sentence has the message's own words: not split again.
        split = [list(words)] if len(sentences) == 1 else [tokenize(s) for s in sentences]
        weights: dict[str, float] = {}
        members: dict[str, frozenset[str]] = {}
        for sentence, tokens in zip(sentences, split, strict=True):
            weight = self._settings.story_weight if asks and sentence not in asks else 1.0
            terms, found = self._analyzer.analyse(
                [self.correct(w) for w in tokens], self._index.idf.__contains__)
            for concept, lemmas in found.items():
                members[concept] = members.get(concept, frozenset()) | lemmas
            for term in terms:
                related = self._relate(term)
                # A root-only match is weaker evidence than the same lemma.
                scale = 1.0 if related == term else self._settings.related_weight
                weights[related] = max(weights.get(related, 0.0), weight * scale)
        whole = " ".join(words)
        keys = tuple(dict.fromkeys((whole, *(" ".join(t) for t in split))))
        return Query(weights, keys, fixed, tuple(words), members)

    def _relate(self, term: str) -> str:
        """A term the KB lacks, read as a KB term of the same root ("волонтерский" → волонтер)."""
        if term in self._index.idf or not term.isalpha():
            return term
        key = stem_key(term)
        return self._index.related.get(key, term) if key else term

    def _is_known(self, word: str) -> bool:
        return word in self._index.vocabulary or self._analyzer.lemmatizer.is_known(word)

    def correct(self, word: str) -> str:
        """The KB word an unknown, misspelt word most likely stands for, or the word itself."""
        if word in self._analyzer.synonyms.spellings:
            return word  # a chat spelling ("скока"): terms() reads it as the usual word
        if (
            len(word) < self._settings.typo_min_length
            or word in self._index.vocabulary
            or self._analyzer.lemmatizer.is_known(word)
        ):
            return word
        cached = self._corrections.get(word)
        if cached is None:
            cached = self._spoken_reflexive(word) or self._closest(word)
            if len(self._corrections) < 100_000:
                self._corrections[word] = cached
        return cached

    def _spoken_reflexive(self, word: str) -> str | None:
        """ "находица", "обращатса" → находится, обращаться: "-тся" written as it sounds."""
        for spoken in SPOKEN_REFLEXIVE:
            if word.endswith(spoken) and len(word) > len(spoken) + 2:
                stem = word[: -len(spoken)]
                for written in ("тся", "ться"):
                    if self._is_known(stem + written):
                        return stem + written
        return None

    def _closest(self, word: str) -> str:
        choices = self._index.surface.get(word[0], ())
        found = process.extractOne(
            word, choices, scorer=fuzz.ratio, score_cutoff=self._settings.typo_cutoff
        )
        return str(found[0]) if found else word
