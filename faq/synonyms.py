"""Synonym and abbreviation groups: any phrase of a group also yields the group's concept term."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from faq.morph import Lemmatizer
from faq.normalize import tokenize

CONCEPT_MARK = "~"


@dataclass(frozen=True, slots=True)
class SynonymSource:
    """Groups and glued prefixes as written in a synonyms file, before lemmatisation."""

    groups: tuple[tuple[str, ...], ...] = ()
    prefixes: Mapping[str, str] = field(default_factory=dict)

    def merged(self, other: SynonymSource) -> SynonymSource:
        return SynonymSource(self.groups + other.groups, {**self.prefixes, **other.prefixes})


def parse_synonyms(text: str) -> SynonymSource:
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError("a synonyms file must be a mapping with 'groups' and 'prefixes'")
    groups = data.get("groups") or []
    prefixes = data.get("prefixes") or {}
    if not isinstance(groups, list) or not all(isinstance(g, list) and g for g in groups):
        raise ValueError("'groups' must be a list of non-empty lists of phrases")
    if not isinstance(prefixes, dict):
        raise ValueError("'prefixes' must map a glued prefix to its full word")
    return SynonymSource(
        tuple(tuple(str(p) for p in group) for group in groups),
        {str(k): str(v) for k, v in prefixes.items()},
    )


def load_synonyms(extra: Sequence[Path] = ()) -> SynonymSource:
    """The shipped social-sector dictionary, extended by an institution's own files."""
    shipped = resources.files("faq").joinpath("data/synonyms.yaml").read_text(encoding="utf-8")
    source = parse_synonyms(shipped)
    for path in extra:
        source = source.merged(parse_synonyms(path.read_text(encoding="utf-8")))
    return source


@dataclass(frozen=True, slots=True)
class Synonyms:
    """Lemmatised phrases → concept terms, ready to apply to a lemma sequence."""

    phrases: Mapping[tuple[str, ...], tuple[str, ...]]
    prefixes: Mapping[str, str]
    longest: int

    def concepts(self, lemmas: Sequence[str]) -> list[str]:
        return [c for _, _, concepts in self.spans(lemmas) for c in concepts]

    def spans(self, lemmas: Sequence[str]) -> list[tuple[int, int, tuple[str, ...]]]:
        """Non-overlapping phrase occurrences, longest first: (start, end, concepts)."""
        found: list[tuple[int, int, tuple[str, ...]]] = []
        start = 0
        while start < len(lemmas):
            for size in range(min(self.longest, len(lemmas) - start), 0, -1):
                concepts = self.phrases.get(tuple(lemmas[start : start + size]))
                if concepts:
                    found.append((start, start + size, concepts))
                    start += size
                    break
            else:
                start += 1
        return found


def build_synonyms(source: SynonymSource, lemmatizer: Lemmatizer) -> Synonyms:
    phrases: dict[tuple[str, ...], list[str]] = {}
    for group in source.groups:
        concept = CONCEPT_MARK + "_".join(tokenize(group[0]))
        for phrase in group:
            key = tuple(lemmatizer.lemma(w) for w in tokenize(phrase))
            if key and concept not in phrases.setdefault(key, []):
                phrases[key].append(concept)
    return Synonyms(
        phrases={k: tuple(v) for k, v in phrases.items()},
        prefixes=dict(source.prefixes),
        longest=max((len(k) for k in phrases), default=0),
    )


def concept_names(synonyms: Synonyms) -> Iterable[str]:
    return {c for concepts in synonyms.phrases.values() for c in concepts}
