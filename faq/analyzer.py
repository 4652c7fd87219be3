"""Words → terms: lemmas without stop words, plus synonym concepts and glued-prefix parts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources

from faq.morph import Lemmatizer
from faq.normalize import tokenize
from faq.synonyms import Synonyms

NEGATION = "не_"


def load_stopwords() -> frozenset[str]:
    text = resources.files("faq").joinpath("data/stopwords.txt").read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


class Analyzer:
    """The one pipeline that both the knowledge base and the clients' messages go through."""

    def __init__(
        self, lemmatizer: Lemmatizer, synonyms: Synonyms, stopwords: frozenset[str]
    ) -> None:
        self.lemmatizer = lemmatizer
        self.synonyms = synonyms
        self.stopwords = stopwords
        # One C call turns away a word that starts with none of them (most words).
        self._prefixes = tuple(synonyms.prefixes)

    def is_stop(self, word: str) -> bool:
        return word in self.stopwords or len(word) < 2 or word.isdigit()

    def terms(self, words: Sequence[str]) -> list[str]:
        return self.analyse(words)[0]

    def analyse(
        self, words: Sequence[str], known: Callable[[str], bool] | None = None
    ) -> tuple[list[str], dict[str, frozenset[str]]]:
        """The terms, and for each synonym concept among them the terms of its phrase.

        A word after "не" is a term of its own ("не_согласный"), so that "согласна" alone
        does not find the entry for those who disagree. In a client's message (`known`: the
        knowledge base's terms) it is so only where the knowledge base negates it too:
        elsewhere "мама не работает" still tells of work.
        """
        spellings = self.synonyms.spellings
        if spellings:
            words = [part for w in words for part in spellings.get(w, w).split()]
        # A prefix written apart ("соц работник") stands for its full word, as when glued.
        words = [self.synonyms.prefixes.get(w, w) for w in words]
        lemmas = [self.lemmatizer.lemma(w) for w in words]
        # Concepts join the words rather than replace them: measured on the dev set, replacing
        # lost 5 points of top-1 (a lone "ветеран" must still find "ветеран труда").
        members = self.synonyms.members(lemmas)
        out = list(members)
        negated = False
        for word, lemma in zip(words, lemmas, strict=True):
            if not self.is_stop(word) and not self.is_stop(lemma):
                if negated and (known is None or known(NEGATION + lemma)):
                    out.append(NEGATION + lemma)
                else:
                    out.extend(self._prefix_parts(word) or [lemma])
            negated = word == "не"
        return out, members

    def text_terms(self, text: str) -> list[str]:
        return self.terms(tokenize(text))

    def _prefix_parts(self, word: str) -> list[str]:
        """ "соцпособие" → социальный, пособие; a 5-letter rest keeps "медведь" whole."""
        if not word.startswith(self._prefixes):
            return []
        for prefix, full in self.synonyms.prefixes.items():
            rest = word[len(prefix) :]
            if word.startswith(prefix) and len(rest) >= 5 and self.lemmatizer.is_known(rest):
                return [self.lemmatizer.lemma(full), self.lemmatizer.lemma(rest)]
        return []
