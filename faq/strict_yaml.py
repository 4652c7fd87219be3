"""YAML as PyYAML's safe loader reads it, noting the keys a mapping repeats.

YAML keeps only the last of two equal keys, so a second `answer:` in an entry or a second
`web:` section in the settings would make the first vanish without a word. Every file an
institution writes is read through `parse_yaml`, and its callers report each repeat.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import yaml

# A plain value followed on its line by " #5…": YAML reads "#5…" as a comment and drops it
# ("кабинет #5 на втором этаже" → "кабинет"). "# note" (with a space) is an author's comment.
_CUT_BY_COMMENT = re.compile(r"[ \t]+#\S")


class RepeatedKey(NamedTuple):
    label: str  # the id of the mapping that repeats the key, "" when it has none
    key: str
    line: int  # 1-based, of the repeat


class _KeyCheckingLoader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.repeated: list[RepeatedKey] = []
        self.cut: list[int] = []  # 1-based lines of plain values a "#" cut short

    def construct_scalar(self, node: yaml.ScalarNode | yaml.MappingNode) -> Any:
        end = node.end_mark
        plain = isinstance(node, yaml.ScalarNode) and node.style is None
        if plain and end is not None and end.buffer is not None:
            line_end = end.buffer.find("\n", end.pointer)
            rest = end.buffer[end.pointer : line_end if line_end >= 0 else None]
            if _CUT_BY_COMMENT.match(rest) and (end.line + 1) not in self.cut:
                self.cut.append(end.line + 1)
        return super().construct_scalar(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [k for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
        # An entry's (or rule's) own id names where the key is, as for other problems.
        label = next((v.value for k, v in node.value if isinstance(k, yaml.ScalarNode)
                      and k.value == "id" and isinstance(v, yaml.ScalarNode)), "")
        seen: set[str] = set()
        for key in keys:
            if key.value in seen:
                self.repeated.append(RepeatedKey(label, key.value, key.start_mark.line + 1))
            seen.add(key.value)
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # PyYAML's scalar constructors let a ValueError escape without the line: a date such
        # as 2026-13-01 matches the timestamp pattern, then datetime refuses it.
        try:
            return super().construct_object(node, deep=deep)
        except ValueError as exc:
            if not isinstance(node, yaml.ScalarNode):
                raise
            what = "date" if node.tag == "tag:yaml.org,2002:timestamp" else "value"
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid {what} {node.value!r}: {exc}", node.start_mark) from None


def parse_yaml(text: str) -> tuple[Any, list[RepeatedKey]]:
    """The document, and each key repeated within one mapping; raises yaml.YAMLError."""
    data, repeated, _ = parse_yaml_checked(text)
    return data, repeated


def parse_yaml_checked(text: str) -> tuple[Any, list[RepeatedKey], list[int]]:
    """parse_yaml, and the lines whose plain value a " #…" cut short as a comment."""
    loader = _KeyCheckingLoader(text)
    try:
        return loader.get_single_data(), loader.repeated, loader.cut
    finally:
        loader.dispose()


def repeated_message(repeat: RepeatedKey) -> str:
    return f"duplicate key {repeat.key!r} (line {repeat.line})"


# PyYAML's wording → what to do about it, for the people who write these files by hand; the
# first item names the advice for pages that say it in Russian (templates/web/kb_problem.html).
_PLAIN = (
    ("tab", "cannot start any token", "\\t", "a tab character: YAML indents with spaces only; "
     "replace the tab with spaces"),
    ("colon", "mapping values are not allowed here", "", "a colon followed by a space inside a "
     "text (as in «Часы работы: 8:30»): put the whole text in quotes (\"…\")"),
    ("indent", "expected <block end>", "", "this line is not indented like the lines above it: "
     "the keys of one entry must start in the same column"),
    ("indent", "expected <block mapping start>", "", "this line is not indented like the lines "
     "above it: the keys of one entry must start in the same column"),
    ("quote", "found unexpected end of stream", "quoted", "a quote («\"» or «'») opened here is "
     "never closed"),
    ("cut_short", "found unexpected end of stream", "", "the file ends in the middle of a value"),
    ("no_colon", "could not find expected ':'", "", "a line without «key: value» where one was "
     "expected; a text going on to a second line must be indented further, or quoted"),
    ("date", "invalid date", "", "a value that looks like a date but is not one: put it in "
     "quotes"),
    ("bracket", "expected ',' or ']'", "", "a list in square brackets («[…]») opened here is not "
     "closed with «]», or a text in it has a comma or colon: put such a text in quotes"),
    ("brace", "expected ',' or '}'", "", "a mapping in braces («{…}») opened here is not closed "
     "with «}», or a text in it has a comma or colon: put such a text in quotes"),
    ("first_char", "cannot start any token", "", "a text cannot start with this character (@, `, "
     "%, |, >, !, &, *): put the whole text in quotes (\"…\")"),
)
_QUOTE = _PLAIN[4]


class YamlTrouble(NamedTuple):
    """Where a YAML error is and what to do about it; line 0 when PyYAML gives no place."""

    line: int  # 1-based
    source: str  # the line's text, shortened
    advice: str  # a name from _PLAIN, "" when there is no plain advice
    english: str  # the advice in English, with PyYAML's wording


def yaml_trouble(exc: yaml.YAMLError, text: str) -> YamlTrouble:
    """A YAML error as a person who writes the file can act on it: where, the line itself,
    what is wrong in plain words, and PyYAML's own wording last."""
    mark = getattr(exc, "problem_mark", None)
    problem = f"{getattr(exc, 'context', '') or ''} {getattr(exc, 'problem', '') or ''}"
    name, advice = next(((key, say) for key, found, also, say in _PLAIN
                         if found in problem and (not also or also in problem)), ("", ""))
    if not isinstance(exc, yaml.MarkedYAMLError) or mark is None:
        return YamlTrouble(0, "", "", " ".join(str(exc).split()))
    opened = getattr(exc, "context_mark", None)
    if opened is not None and ("quoted" in problem or "flow" in problem):
        mark = opened  # where the quote or bracket was opened, not where YAML gave up
    lines = text.splitlines()
    open_quote = _unclosed_quote(lines[: mark.line + 1])
    if open_quote is not None and "quoted" not in problem:
        # A quote left open swallows the lines after it; YAML then trips further down.
        mark, name, advice = _Line(open_quote), _QUOTE[0], _QUOTE[3]
    source = lines[mark.line].strip()[:80] if mark.line < len(lines) else ""
    english = f"{advice or 'not valid YAML'} (YAML: {yaml_problem(exc)})"
    return YamlTrouble(mark.line + 1, source, name, english)


def plain_yaml_problem(exc: yaml.YAMLError, text: str) -> str:
    trouble = yaml_trouble(exc, text)
    if not trouble.line:
        return trouble.english
    where = f"line {trouble.line}" + (f" «{trouble.source}»" if trouble.source else "")
    return f"{where}: {trouble.english}"


class _Line(NamedTuple):
    line: int


# A value that opens a quote and does not close it on its line: «question: "Где юрист?».
_OPENS_QUOTE = re.compile(r"""^\s*(-\s+)?[\w-]+:\s+(?P<q>["'])(?!.*(?P=q)\s*(#.*)?$)""")


def _unclosed_quote(lines: list[str]) -> int | None:
    """The last line before an error whose value opens a quote it does not close, if any."""
    found = [n for n, line in enumerate(lines) if _OPENS_QUOTE.match(line)]
    return found[-1] if found else None


def yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's several-line message as one line: where, what, and in what."""
    mark = getattr(exc, "problem_mark", None)
    if not isinstance(exc, yaml.MarkedYAMLError) or mark is None:
        return " ".join(str(exc).split())
    text = f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem or exc.context}"
    if exc.context and exc.problem:
        start = exc.context_mark
        since = f" from line {start.line + 1}" if start is not None else ""
        text += f" ({exc.context}{since})"
    return text
