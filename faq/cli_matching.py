"""`faq ask` and `faq eval`: the matcher as the service builds it, on one message or cases."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from faq.cli_files import fail
from faq.evaluate import evaluate, load_cases
from faq.loader import KbError, load_kb
from faq.matcher import Explained, Matcher, NeuralUnavailable, build_matcher
from faq.model import Decision, KnowledgeBase, MatchResult

ServedPaths = Callable[[argparse.Namespace], Sequence[Path]]


# What the service does with a message before its knowledge base is asked (a crisis, a request
# for a person), in words for `faq ask`; None when it goes to the matcher.
BeforeMatching = Callable[[argparse.Namespace, str], str | None]
# The synonyms files, thresholds and faq.neural the service reads from its settings.
ServedMatcher = Callable[[argparse.Namespace], tuple[list[Path], Any, bool, Path | None]]
# Where the service keeps the knowledge base's sentence encodings (faq.neural_cache).
ServedCache = Callable[[argparse.Namespace], Path | None]


def _matcher(args: argparse.Namespace) -> Matcher:
    kb = load_kb(_kb_paths(args))
    served = getattr(args, "served_matcher", None)
    if served is None:
        return build_matcher(kb, synonym_files=args.synonyms, neural=args.neural,
                             neural_cache=_neural_cache(args, args.neural))
    synonyms, config, neural, cache = served(args)
    return build_matcher(kb, config, [*synonyms, *args.synonyms],
                         neural=neural or args.neural, neural_cache=args.neural_cache or cache)


def _matcher_or_exit_code(args: argparse.Namespace) -> Matcher | int:
    """The matcher, or the exit code once what keeps it from being built is printed."""
    try:
        return _matcher(args)
    except KbError as error:
        return fail(error)
    except NeuralUnavailable as error:
        print(error, file=sys.stderr)
        return 2


def _kb_paths(args: argparse.Namespace) -> Sequence[Path]:
    """--kb, else the files the service reads (argparse requires --kb when the host cannot
    say which those are)."""
    if args.kb:
        paths: Sequence[Path] = args.kb
        return paths
    served: ServedPaths = args.served_paths
    return served(args)


def _neural_cache(args: argparse.Namespace, neural: bool) -> Path | None:
    """--neural-cache, else the service's cache when the host knows it: encoding a knowledge
    base of 70 entries takes ~20 s, and the cache's entries are keyed by their text, so one
    file serves any knowledge base; settings are read only when the encoder is wanted."""
    given: Path | None = args.neural_cache
    served: ServedCache | None = getattr(args, "served_cache", None)
    if given is not None or not neural or served is None:
        return given
    return served(args)


def run_ask(args: argparse.Namespace) -> int:
    if not args.text.strip():
        print("ask: the text is empty: give the client's message to match", file=sys.stderr)
        return 2
    matcher = _matcher_or_exit_code(args)
    if isinstance(matcher, int):
        return matcher
    before = getattr(args, "before_matching", None)
    note = before(args, args.text) if before is not None else None
    if note:
        print(f"service: {note}")
    explained = matcher.explain(args.text)
    print(describe(explained.result, matcher.kb))
    if matcher.neural:
        print(describe_neural(explained, matcher.kb))
    return 0


_WHAT_CLIENTS_GET = {
    Decision.ANSWER: "the client gets the answer of entry 1",
    Decision.CLARIFY: "the client is asked which of these is meant, as buttons in this order "
                      "(scores are the word ranking's; the order also weighs meaning)",
    Decision.NO_MATCH: "the client is told no answer was found and offered a specialist",
    Decision.SMALLTALK: "the client gets the polite reply of this kind, no entry",
}


def describe(result: MatchResult, kb: KnowledgeBase) -> str:
    head = f"decision: {result.decision.value}"
    if result.smalltalk is not None:
        head += f" ({result.smalltalk.value})"
    lines = [head, f"  {_WHAT_CLIENTS_GET[result.decision]}"]
    if result.decision is Decision.NO_MATCH and any(c.score > 0 for c in result.candidates):
        lines.append("  nearest entries, none close enough to offer:")
    shown = result.candidates
    if result.decision is Decision.NO_MATCH:
        shown = tuple(c for c in shown if c.score > 0)
    for number, candidate in enumerate(shown, 1):
        entry = kb.entry(candidate.entry_id)
        question = entry.question if entry else ""
        lines.append(f"  {number}. {candidate.score:.3f}  {candidate.entry_id}  {question}")
    return "\n".join(lines)


def describe_neural(explained: Explained, kb: KnowledgeBase) -> str:
    """Whether the neural re-check (faq.neural) read the message, and what it made of it."""
    check = explained.neural
    if check is None:
        return ("neural re-check: not run (it reads again only what the word ranking would "
                "clarify)")
    entry = kb.entry(check.picked.entry_id)
    verdict = ("at or above the cut-off: answers with it" if check.answers
               else "below the cut-off: the clarification stands")
    return "\n".join([
        "neural re-check: ran",
        f"  picked {check.picked.entry_id}  {entry.question if entry else ''} "
        f"(the encoder's closest of the word ranking's first {check.pool})",
        f"  confidence {check.confidence:.3f}, cut-off {check.cutoff:.3f}: {verdict}",
    ])


def run_eval(args: argparse.Namespace) -> int:
    matcher = _matcher_or_exit_code(args)
    if isinstance(matcher, int):
        return matcher
    try:
        cases = load_cases(args.cases)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        print(f"{args.cases}: {error}", file=sys.stderr)
        return 2
    if not cases:
        # Metrics of nothing would read as a perfect or a failed knowledge base.
        print(f"{args.cases}: no cases: write one JSON object a line, "
              '{"text": "...", "expected": "entry id" or null}', file=sys.stderr)
        return 2
    unknown = sorted({c.expected for c in cases if c.expected} - set(matcher.index.ids))
    if unknown:
        # Still scored (as never answered right): the report keeps the file's own counts.
        print(f"{args.cases}: {len(unknown)} expected id(s) not in the knowledge base: "
              f"{', '.join(unknown[:10])}", file=sys.stderr)
    report = evaluate(matcher.match, cases)
    print(json.dumps(report.to_dict(), ensure_ascii=False))
    return 0
