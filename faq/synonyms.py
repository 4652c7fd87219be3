"""Synonym and abbreviation groups: any phrase of a group also yields the group's concept term."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml

from faq.morph import Lemmatizer
from faq.normalize import tokenize
from faq.problems import KbError, Problem, ProblemKind
from faq.strict_yaml import parse_yaml, plain_yaml_problem, repeated_message, yaml_trouble

CONCEPT_MARK = "~"


@dataclass(frozen=True, slots=True)
class SynonymSource:
    """Groups, glued prefixes, spoken spellings and fillers as written in a synonyms file."""

    groups: tuple[tuple[str, ...], ...] = ()
    prefixes: Mapping[str, str] = field(default_factory=dict)
    # Chat and spoken spellings of ordinary words ("скока" → "сколько"), read before anything.
    spellings: Mapping[str, str] = field(default_factory=dict)
    # Words a phrase may have inside it or not ("где вы находитесь" = "где находитесь").
    fillers: frozenset[str] = frozenset()

    def merged(self, other: SynonymSource) -> SynonymSource:
        return SynonymSource(
            self.groups + other.groups,
            {**self.prefixes, **other.prefixes},
            {**self.spellings, **other.spellings},
            self.fillers | other.fillers,
        )


def parse_synonyms(text: str) -> SynonymSource:
    data, repeated = parse_yaml(text)
    if repeated:
        raise ValueError(f"a synonyms file has a {repeated_message(repeated[0])}")
    data = data or {}
    if not isinstance(data, dict):
        raise ValueError("a synonyms file must be a mapping with 'groups' and 'prefixes'")
    unknown = set(data) - {"groups", "prefixes", "spellings", "fillers"}
    if unknown:
        names = ", ".join(sorted(map(str, unknown)))
        raise ValueError(f"unknown key(s) in a synonyms file: {names}")
    groups = data.get("groups") or []
    prefixes = data.get("prefixes") or {}
    spellings = data.get("spellings") or {}
    fillers = data.get("fillers") or []
    if not isinstance(groups, list) or not all(isinstance(g, list) and g for g in groups):
        raise ValueError("'groups' must be a list of non-empty lists of phrases")
    if not isinstance(prefixes, dict):
        raise ValueError("'prefixes' must map a glued prefix to its full word")
    if not isinstance(spellings, dict) or not all(
        len(tokenize(str(k))) == 1 and tokenize(str(v)) for k, v in spellings.items()
    ):
        raise ValueError("'spellings' must map one word as clients spell it to its usual form")
    if not isinstance(fillers, list) or not all(len(tokenize(str(f))) == 1 for f in fillers):
        raise ValueError("'fillers' must be a list of single words")
    return SynonymSource(
        tuple(tuple(str(p) for p in group) for group in groups),
        {str(k): str(v) for k, v in prefixes.items()},
        {tokenize(str(k))[0]: " ".join(tokenize(str(v))) for k, v in spellings.items()},
        frozenset(tokenize(str(f))[0] for f in fillers),
    )


def load_synonyms(extra: Sequence[Path] = ()) -> SynonymSource:
    """The shipped social-sector dictionary, extended by an institution's own files; raises
    KbError naming each file that cannot be used."""
    shipped = resources.files("faq").joinpath("data/synonyms.yaml").read_text(encoding="utf-8")
    source = parse_synonyms(shipped)
    problems: list[Problem] = []
    for path in extra:
        try:
            source = source.merged(read_synonyms(path))
        except KbError as error:
            problems += error.problems
    if problems:
        raise KbError(problems)
    return source


def check_synonyms(paths: Sequence[Path]) -> list[Problem]:
    try:
        load_synonyms(paths)
    except KbError as error:
        return error.problems
    return []


def read_synonyms(path: Path) -> SynonymSource:
    """One institution's synonyms file; raises KbError with a one-line reason."""
    text = ""
    kind, details = ProblemKind.SYNONYMS_FILE, tuple[str, ...]()
    try:
        text = path.read_text(encoding="utf-8")
        return parse_synonyms(text)
    except OSError as exc:
        reason, kind = f"cannot read the synonyms file: {exc.strerror}", ProblemKind.UNREADABLE
    except UnicodeDecodeError:
        reason = "the synonyms file must be saved as UTF-8"
    except yaml.YAMLError as exc:
        reason = f"bad YAML in the synonyms file: {plain_yaml_problem(exc, text)}"
        trouble = yaml_trouble(exc, text)
        kind, details = ProblemKind.BAD_YAML, (str(trouble.line), trouble.source, trouble.advice)
    except ValueError as exc:
        reason = str(exc)
    raise KbError([Problem(str(path), "", reason, kind, details)])


@dataclass(frozen=True, slots=True)
class Synonyms:
    """Lemmatised phrases → concept terms, ready to apply to a lemma sequence."""

    phrases: Mapping[tuple[str, ...], tuple[str, ...]]
    prefixes: Mapping[str, str]
    longest: int
    spellings: Mapping[str, str] = field(default_factory=dict)
    # Lemmas of the fillers: phrases are also looked up in the message without them.
    fillers: frozenset[str] = frozenset()
    # First lemma of a phrase -> the longest phrase starting with it: other words start none.
    _starts: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts: dict[str, int] = {}
        for key in self.phrases:
            if key:
                starts[key[0]] = max(starts.get(key[0], 0), len(key))
        object.__setattr__(self, "_starts", starts)

    def concepts(self, lemmas: Sequence[str]) -> list[str]:
        return list(self.members(lemmas))

    def members(self, lemmas: Sequence[str]) -> dict[str, frozenset[str]]:
        """Each concept found, with the lemmas of the phrases it was found by."""
        found: dict[str, frozenset[str]] = {}
        bare = [lemma for lemma in lemmas if lemma not in self.fillers]
        # Phrases are also looked up with the fillers taken out of the message.
        for seq in (lemmas, bare) if len(bare) < len(lemmas) else (lemmas,):
            for start, end, concepts in self.spans(seq):
                for concept in concepts:
                    found[concept] = found.get(concept, frozenset()) | frozenset(seq[start:end])
        return found

    def spans(self, lemmas: Sequence[str]) -> list[tuple[int, int, tuple[str, ...]]]:
        """Non-overlapping phrase occurrences, longest first: (start, end, concepts)."""
        found: list[tuple[int, int, tuple[str, ...]]] = []
        start = 0
        while start < len(lemmas):
            longest = self._starts.get(lemmas[start], 0)
            for size in range(min(longest, len(lemmas) - start), 0, -1):
                concepts = self.phrases.get(tuple(lemmas[start : start + size]))
                if concepts:
                    found.append((start, start + size, concepts))
                    start += size
                    break
            else:
                start += 1
        return found


def build_synonyms(source: SynonymSource, lemmatizer: Lemmatizer) -> Synonyms:
    fillers = frozenset(lemmatizer.lemma(w) for w in source.fillers)
    phrases: dict[tuple[str, ...], list[str]] = {}
    for group in source.groups:
        concept = CONCEPT_MARK + "_".join(tokenize(group[0]))
        for phrase in group:
            key = tuple(lemmatizer.lemma(w) for w in tokenize(phrase))
            bare = tuple(lemma for lemma in key if lemma not in fillers)
            # A phrase is also found without its fillers, unless that leaves a single word
            # that alone would mean the whole phrase.
            keys = (key, bare) if len(bare) > 1 else (key,)
            for k in keys:
                if k and concept not in phrases.setdefault(k, []):
                    phrases[k].append(concept)
    return Synonyms(
        phrases={k: tuple(v) for k, v in phrases.items()},
        prefixes=dict(source.prefixes),
        longest=max((len(k) for k in phrases), default=0),
        spellings=dict(source.spellings),
        fillers=fillers,
    )


def concept_names(synonyms: Synonyms) -> Iterable[str]:
    return {c for concepts in synonyms.phrases.values() for c in concepts}
