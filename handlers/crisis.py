"""Crisis detection by rules an institution edits in YAML: danger to life gets a human at once."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import yaml

from faq.strict_yaml import parse_yaml, repeated_message, yaml_problem

DEFAULT_HELP_KEY = "crisis_help"
DEFAULT_GAP = 1
_TOKEN = re.compile(r"[\w|*]+")
_NOT_WORD = re.compile(r"[\W_]+")


class CrisisKind(StrEnum):
    SUICIDE = "suicide"
    VIOLENCE = "violence"
    CHILD_DANGER = "child_danger"
    THREAT_TO_LIFE = "threat_to_life"


@dataclass(frozen=True, slots=True)
class CrisisHit:
    rule_id: str
    kind: CrisisKind
    help_key: str
    fragment: str
    # Every kind the message raises, this hit's own first: "не хочу больше жить, сын бьёт меня"
    # is suicide and violence, and the client needs the help lines of both.
    kinds: tuple[CrisisKind, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in self.kinds:
            object.__setattr__(self, "kinds", (self.kind, *self.kinds))


class CrisisRulesError(ValueError):
    def __init__(self, path: Path, rule: str | None, reason: str) -> None:
        where = f"{path}: rule {rule!r}" if rule else str(path)
        super().__init__(f"{where}: {reason}")
        self.path, self.rule, self.reason = path, rule, reason


# Per token of a word pattern: the whole words it accepts and the stems it accepts words of.
Token = tuple[frozenset[str], frozenset[str]]


@dataclass(frozen=True, slots=True)
class Matcher:
    patterns: tuple[re.Pattern[str], ...]
    exceptions: tuple[re.Pattern[str], ...]
    # Per pattern, the tokens of a word pattern; None for a `re:` one, which always runs.
    needs: tuple[frozenset[Token] | None, ...] = ()

    def first(self, text: str, possible: Collection[int] | None = None) -> str | None:
        """The first match not cancelled by an exception. With `possible` (WordFilter) only
        those word patterns are tried; `re:` patterns always are."""
        for n, pattern in enumerate(self.patterns):
            if possible is not None and n not in possible and self._need(n) is not None:
                continue
            for hit in pattern.finditer(text):
                if not self._excepted(text, hit.start(), hit.end()):
                    return hit.group(0)
        return None

    def _need(self, n: int) -> frozenset[Token] | None:
        return self.needs[n] if n < len(self.needs) else None

    def _excepted(self, text: str, start: int, end: int) -> bool:
        # An exception cancels only the match it overlaps, so an idiom elsewhere in the message
        # ("убить время ... хочу убить себя") cannot hide a real alarm.
        return any(
            e.start() < end and start < e.end() for x in self.exceptions for e in x.finditer(text)
        )


class WordFilter:
    """Which word patterns a message could match at all: each needs a word for every token.

    Most messages lack some word of nearly every pattern, so a few set lookups per message
    replace a regular-expression scan per pattern; the patterns themselves still decide.
    """

    def __init__(self, matchers: Sequence[Matcher]) -> None:
        self._words: dict[str, set[Token]] = {}
        self._stems: dict[str, set[Token]] = {}
        # token -> (matcher, pattern) pairs needing it; per pair, all the tokens it needs
        self._users: dict[Token, list[tuple[int, int]]] = {}
        self._needs: dict[tuple[int, int], frozenset[Token]] = {}
        for m, matcher in enumerate(matchers):
            for n, need in enumerate(matcher.needs):
                if need is None:
                    continue
                self._needs[(m, n)] = need
                for token in need:
                    self._users.setdefault(token, []).append((m, n))
                    exact, stems = token
                    for word in exact:
                        self._words.setdefault(word, set()).add(token)
                    for stem in stems:
                        self._stems.setdefault(stem, set()).add(token)
        self._lengths = sorted({len(stem) for stem in self._stems})
        self._count = len(matchers)

    def possible(self, text: str) -> list[set[int]]:
        """Per matcher, the indices of its word patterns whose every token has a word."""
        found: set[Token] = set()
        words, stems = self._words, self._stems
        for word in set(text.split()):
            found.update(words.get(word, ()))
            for n in self._lengths:
                if n > len(word):
                    break
                found.update(stems.get(word[:n], ()))
        result: list[set[int]] = [set() for _ in range(self._count)]
        for token in found:
            for key in self._users[token]:
                if self._needs[key] <= found:
                    result[key[0]].add(key[1])
        return result


@dataclass(frozen=True, slots=True)
class CrisisRule:
    id: str
    kind: CrisisKind
    help_key: str
    matcher: Matcher


@dataclass(frozen=True, slots=True)
class FlagRule:
    id: str
    matcher: Matcher


@dataclass(frozen=True, slots=True)
class CrisisRules:
    rules: tuple[CrisisRule, ...]
    flag_rules: tuple[FlagRule, ...] = ()
    _rule_words: WordFilter = field(init=False, repr=False, compare=False)
    _flag_words: WordFilter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_rule_words", WordFilter([r.matcher for r in self.rules]))
        object.__setattr__(self, "_flag_words", WordFilter([f.matcher for f in self.flag_rules]))

    def detect(self, text: str) -> CrisisHit | None:
        """The first rule in file order that matches, with the kinds of all that do; or None."""
        hits = list(self._hits_by_kind(normalize(text)))
        if not hits:
            return None
        return dataclasses.replace(hits[0], kinds=tuple(h.kind for h in hits))

    def _hits_by_kind(self, normal: str) -> Iterator[CrisisHit]:
        """The first matching rule of each kind, in file order."""
        found: set[CrisisKind] = set()
        possible = self._rule_words.possible(normal)
        for rule, allowed in zip(self.rules, possible, strict=True):
            if rule.kind in found:
                continue
            fragment = rule.matcher.first(normal, allowed)
            if fragment is not None:
                found.add(rule.kind)
                yield CrisisHit(rule.id, rule.kind, rule.help_key, fragment)

    def flags(self, text: str) -> tuple[str, ...]:
        """Ids of non-alarm flags (hardship, disaster) that may raise a hand-over's priority."""
        normal = normalize(text)
        possible = self._flag_words.possible(normal)
        return tuple(
            f.id
            for f, allowed in zip(self.flag_rules, possible, strict=True)
            if f.matcher.first(normal, allowed) is not None
        )


def normalize(text: str) -> str:
    """Lowercase, ё as е, punctuation as single spaces: the form patterns are matched against."""
    return _NOT_WORD.sub(" ", text.lower().replace("ё", "е")).strip()


def load_crisis_rules(path: Path) -> CrisisRules:
    try:
        data, repeated = parse_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CrisisRulesError(path, None, f"cannot read: {exc}") from exc
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise CrisisRulesError(path, None, f"line {line}: not UTF-8 (saved as Windows-1251?)"
                               ) from exc
    except yaml.YAMLError as exc:
        # PyYAML's message spans 4-8 lines with a caret drawing: one line, like the others.
        raise CrisisRulesError(path, None, f"bad YAML: {yaml_problem(exc)}") from exc
    if repeated:
        raise CrisisRulesError(path, repeated[0].label or None, repeated_message(repeated[0]))
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        raise CrisisRulesError(path, None, "expected a mapping with a list under 'rules'")
    rules = tuple(_parse_rule(path, n, item) for n, item in enumerate(data["rules"], 1))
    flags = tuple(_parse_flag(path, n, item) for n, item in enumerate(data.get("flags") or [], 1))
    _check_unique(path, [r.id for r in rules] + [f.id for f in flags])
    return CrisisRules(rules, flags)


def _check_unique(path: Path, ids: list[str]) -> None:
    seen: set[str] = set()
    for rule_id in ids:
        if rule_id in seen:
            raise CrisisRulesError(path, rule_id, "id is used twice")
        seen.add(rule_id)


def _parse_rule(path: Path, number: int, item: object) -> CrisisRule:
    rule_id, fields = _rule_fields(path, number, item, {"id", "kind", "help", "gap"})
    kind = fields.get("kind")
    if kind not in list(CrisisKind):
        kinds = ", ".join(CrisisKind)
        raise CrisisRulesError(path, rule_id, f"kind {kind!r} is not one of {kinds}")
    help_key = fields.get("help", DEFAULT_HELP_KEY)
    if not isinstance(help_key, str) or not help_key:
        raise CrisisRulesError(path, rule_id, f"help {help_key!r} is not a text key")
    return CrisisRule(
        rule_id, CrisisKind(str(kind)), help_key, _parse_matcher(path, rule_id, fields)
    )


def _parse_flag(path: Path, number: int, item: object) -> FlagRule:
    flag_id, fields = _rule_fields(path, number, item, {"id", "gap"})
    return FlagRule(flag_id, _parse_matcher(path, flag_id, fields))


def _rule_fields(
    path: Path, number: int, item: object, own: set[str]
) -> tuple[str, Mapping[str, object]]:
    if not isinstance(item, Mapping):
        raise CrisisRulesError(path, f"#{number}", "expected a mapping")
    rule_id = item.get("id")
    if not isinstance(rule_id, str) or not rule_id:
        raise CrisisRulesError(path, f"#{number}", "needs a text 'id'")
    unknown = set(item) - own - {"patterns", "exceptions"}
    if unknown:
        raise CrisisRulesError(path, rule_id, f"unknown keys {sorted(map(str, unknown))}")
    return rule_id, item


def _parse_matcher(path: Path, rule_id: str, fields: Mapping[str, object]) -> Matcher:
    gap = fields.get("gap", DEFAULT_GAP)
    if not isinstance(gap, int) or isinstance(gap, bool) or not 0 <= gap <= 5:
        raise CrisisRulesError(path, rule_id, f"gap {gap!r} is not a whole number from 0 to 5")
    patterns = _texts(path, rule_id, fields, "patterns")
    if not patterns:
        raise CrisisRulesError(path, rule_id, "needs at least one pattern")
    # Exceptions are idioms, matched word for word ("убить время"), never across gaps.
    exceptions = _texts(path, rule_id, fields, "exceptions")
    return Matcher(
        tuple(_compile(path, rule_id, p, gap) for p in patterns),
        tuple(_compile(path, rule_id, p, 0) for p in exceptions),
        tuple(None if p.startswith("re:") else _tokens(p) for p in patterns),
    )


def _texts(path: Path, rule_id: str, fields: Mapping[str, object], key: str) -> Sequence[str]:
    value = fields.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CrisisRulesError(path, rule_id, f"'{key}' must be a list of non-empty texts")
    return value


def _compile(path: Path, rule_id: str, pattern: str, gap: int) -> re.Pattern[str]:
    """`re:` starts a regular expression; otherwise words, `a|b` for either, `стем*` for a stem."""
    if pattern.startswith("re:"):
        source = pattern[3:].strip()
    else:
        source = _words_to_regex(path, rule_id, pattern, gap)
    try:
        return re.compile(source)
    except re.error as exc:
        raise CrisisRulesError(path, rule_id, f"pattern {pattern!r}: {exc}") from None


def _words_to_regex(path: Path, rule_id: str, pattern: str, gap: int) -> str:
    tokens = pattern.lower().replace("ё", "е").split()
    for token in tokens:
        words = token.split("|")
        if not _TOKEN.fullmatch(token) or any(not w.rstrip("*") or "*" in w[:-1] for w in words):
            reason = f"pattern {pattern!r}: {token!r} must be words, '|' and a trailing '*'"
            raise CrisisRulesError(path, rule_id, reason)
    between = f"(?: \\w+){{0,{gap}}} "
    return r"(?<!\w)" + between.join(map(_token_regex, tokens)) + r"(?!\w)"


def _tokens(pattern: str) -> frozenset[Token]:
    """The words and stems of each token of a word pattern (checked by _words_to_regex)."""
    tokens = []
    for token in pattern.lower().replace("ё", "е").split():
        words = token.split("|")
        tokens.append((
            frozenset(w for w in words if not w.endswith("*")),
            frozenset(w[:-1] for w in words if w.endswith("*")),
        ))
    return frozenset(tokens)


def _token_regex(token: str) -> str:
    choices = [
        re.escape(word.rstrip("*")) + (r"\w*" if word.endswith("*") else "")
        for word in token.split("|")
    ]
    return "(?:" + "|".join(choices) + ")"
