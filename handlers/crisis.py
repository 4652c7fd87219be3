"""Crisis detection by rules an institution edits in YAML: danger to life gets a human at once."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

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


class CrisisRulesError(ValueError):
    def __init__(self, path: Path, rule: str | None, reason: str) -> None:
        where = f"{path}: rule {rule!r}" if rule else str(path)
        super().__init__(f"{where}: {reason}")
        self.path, self.rule, self.reason = path, rule, reason


@dataclass(frozen=True, slots=True)
class Matcher:
    patterns: tuple[re.Pattern[str], ...]
    exceptions: tuple[re.Pattern[str], ...]

    def first(self, text: str) -> str | None:
        for pattern in self.patterns:
            for found in pattern.finditer(text):
                if not self._excepted(text, found.start(), found.end()):
                    return found.group(0)
        return None

    def _excepted(self, text: str, start: int, end: int) -> bool:
        # An exception cancels only the match it overlaps, so an idiom elsewhere in the message
        # ("убить время ... хочу убить себя") cannot hide a real alarm.
        return any(
            e.start() < end and start < e.end() for x in self.exceptions for e in x.finditer(text)
        )


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

    def detect(self, text: str) -> CrisisHit | None:
        """The first rule in file order that matches, or None."""
        normal = normalize(text)
        for rule in self.rules:
            fragment = rule.matcher.first(normal)
            if fragment is not None:
                return CrisisHit(rule.id, rule.kind, rule.help_key, fragment)
        return None

    def flags(self, text: str) -> tuple[str, ...]:
        """Ids of non-alarm flags (hardship, disaster) that may raise a hand-over's priority."""
        normal = normalize(text)
        return tuple(f.id for f in self.flag_rules if f.matcher.first(normal) is not None)


def normalize(text: str) -> str:
    """Lowercase, ё as е, punctuation as single spaces: the form patterns are matched against."""
    return _NOT_WORD.sub(" ", text.lower().replace("ё", "е")).strip()


def load_crisis_rules(path: Path) -> CrisisRules:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CrisisRulesError(path, None, f"cannot read: {exc}") from exc
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


def _token_regex(token: str) -> str:
    choices = [
        re.escape(word.rstrip("*")) + (r"\w*" if word.endswith("*") else "")
        for word in token.split("|")
    ]
    return "(?:" + "|".join(choices) + ")"
