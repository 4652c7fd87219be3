"""`faq` commands: check, ask, eval, import, export; argparse only, runnable standalone."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from faq.csv_io import export_csv, import_csv
from faq.evaluate import evaluate, load_cases
from faq.live import write_checked
from faq.loader import KbError, check_kb, defined_in, kb_files, load_kb
from faq.matcher import Explained, Matcher, NeuralUnavailable, build_matcher
from faq.model import Decision, KnowledgeBase, MatchResult
from faq.synonyms import check_synonyms
from faq.writer import to_yaml

ServedPaths = Callable[[argparse.Namespace], Sequence[Path]]


# What the service does with a message before its knowledge base is asked (a crisis, a request
# for a person), in words for `faq ask`; None when it goes to the matcher.
BeforeMatching = Callable[[argparse.Namespace, str], str | None]
# The synonyms files, thresholds and faq.neural the service reads from its settings.
ServedMatcher = Callable[[argparse.Namespace], tuple[list[Path], Any, bool, Path | None]]
# Where the service keeps the knowledge base's sentence encodings (faq.neural_cache).
ServedCache = Callable[[argparse.Namespace], Path | None]


def register(
    subparsers: Any,
    import_options: Callable[[argparse.ArgumentParser], None] | None = None,
    served_paths: ServedPaths | None = None,
    before_matching: BeforeMatching | None = None,
    served_matcher: ServedMatcher | None = None,
    served_cache: ServedCache | None = None,
) -> None:
    """Add `faq ...` under the caller's subparsers; each command sets `func(args) -> int`.

    A host that knows where the service reads its knowledge base (`served_paths`, from options
    that `import_options` adds) lets `import` refuse entries the other files already hold;
    `before_matching` lets `ask` say when the service would not ask the matcher at all, and
    `served_matcher` lets it match with the settings' synonyms, thresholds and faq.neural;
    `served_cache` lets `eval --neural` reuse the service's encodings of the knowledge base.
    """
    parser = subparsers.add_parser("faq", help="knowledge base tools")
    add_commands(parser, import_options, served_paths, before_matching, served_matcher,
                 served_cache)


def add_commands(
    parser: argparse.ArgumentParser,
    import_options: Callable[[argparse.ArgumentParser], None] | None = None,
    served_paths: ServedPaths | None = None,
    before_matching: BeforeMatching | None = None,
    served_matcher: ServedMatcher | None = None,
    served_cache: ServedCache | None = None,
) -> None:
    commands = parser.add_subparsers(dest="faq_command", required=True)
    check = commands.add_parser("check", help="report every problem of a knowledge base")
    check.add_argument("paths", nargs="+", type=Path)
    check.add_argument("--synonyms", type=Path, action="append", default=[],
                       help="an institution's synonyms file to check too; repeatable")
    check.set_defaults(func=run_check)

    ask = commands.add_parser("ask", help="show the decision for one message")
    # Where the host reads settings, --kb defaults to the files the service reads (faq.paths).
    ask_served = served_paths if import_options is not None else None
    _kb_options(ask, ask_served)
    if import_options is not None:
        import_options(ask)
    ask.set_defaults(before_matching=before_matching, served_matcher=served_matcher,
                     served_paths=ask_served)
    ask.add_argument("text")
    ask.set_defaults(func=run_ask)

    evaluation = commands.add_parser("eval", help="metrics on labelled cases (JSON Lines)")
    eval_served = None
    if import_options is not None and served_cache is not None:
        import_options(evaluation)
        eval_served = served_paths
    _kb_options(evaluation, eval_served)
    evaluation.add_argument("--cases", type=Path, required=True)
    evaluation.set_defaults(func=run_eval, served_cache=served_cache, served_paths=eval_served)

    importer = commands.add_parser("import", help="CSV → YAML knowledge base")
    importer.add_argument("--kb", type=Path, required=True, help="YAML file to write")
    importer.add_argument("csv", type=Path)
    importer.add_argument(
        "--categories", type=Path, help="YAML whose categories to keep (default: --kb if present)"
    )
    importer.add_argument(
        "--served-with", type=Path, action="append", default=[], metavar="PATH",
        help="the knowledge-base files or folders the service reads (faq.paths); ids that "
        "their other files hold are refused; repeatable",
    )
    if import_options is not None:
        import_options(importer)
    importer.set_defaults(func=run_import, served_paths=served_paths)

    exporter = commands.add_parser("export", help="YAML knowledge base → CSV")
    exporter.add_argument("--kb", type=Path, action="append", required=True)
    exporter.add_argument("csv", type=Path)
    exporter.add_argument(
        "--semicolon", action="store_true",
        help="separate columns with ';', as Excel expects with Russian regional settings",
    )
    exporter.set_defaults(func=run_export)


def _kb_options(parser: argparse.ArgumentParser, served_paths: ServedPaths | None) -> None:
    parser.add_argument(
        "--kb", type=Path, action="append", required=served_paths is None,
        help="YAML file or folder; repeatable"
        + ("" if served_paths is None else " (default: the settings' faq.paths)"),
    )
    parser.add_argument("--synonyms", type=Path, action="append", default=[])
    parser.add_argument(
        "--neural", action="store_true",
        help="re-read what would be clarified with the sentence encoder (faq.neural)",
    )
    parser.add_argument(
        "--neural-cache", type=Path, metavar="PATH",
        help="keep the knowledge base's sentence encodings in this file between runs "
        "(default: the settings' faq.neural_cache where the command reads settings); a file "
        "that cannot be read is encoded again",
    )


def _fail(error: KbError) -> int:
    for problem in error.problems:
        print(problem, file=sys.stderr)
    return 2


def _matcher(args: argparse.Namespace) -> Matcher:
    kb = load_kb(_kb_paths(args))
    served = getattr(args, "served_matcher", None)
    if served is None:
        return build_matcher(kb, synonym_files=args.synonyms, neural=args.neural,
                             neural_cache=_neural_cache(args, args.neural))
    synonyms, config, neural, cache = served(args)
    return build_matcher(kb, config, [*synonyms, *args.synonyms],
                         neural=neural or args.neural, neural_cache=args.neural_cache or cache)


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


# Fewer variants than this earn a hint from `check`: the knowledge bases the matcher was
# measured on have 2–4 per entry, and without any it answers 9–23 points less.
FEW_VARIANTS = 2


def run_check(args: argparse.Namespace) -> int:
    problems = [*check_kb(args.paths), *check_synonyms(args.synonyms)]
    for problem in problems:
        print(problem)
    if problems:
        return 2
    kb = load_kb(args.paths)
    print(f"ok: {len(kb.entries)} entries in {len(kb.categories)} categories")
    files = kb_files(args.paths)
    if len(files) > 1:
        # Folders are read with their subfolders: an "archive" folder inside is still served.
        print(f"read {len(files)} files: " + ", ".join(map(str, files)))
    for wording, ids in shared_phrasings(kb):
        # Not a load error (the service keeps answering), but one entry hides the other.
        print(f"hint: «{wording}» is a question or variant of {' and '.join(ids)}; a client "
              f"who writes exactly that gets {ids[0]} only: reword one of them")
    few = [e.id for e in kb.entries if len(e.variants) < FEW_VARIANTS]
    if few:
        # Not a problem, but the largest lever on answers (docs/faq-matching.md, stop 18).
        shown = ", ".join(few[:10]) + (f" and {len(few) - 10} more" if len(few) > 10 else "")
        print(f"hint: {len(few)} entries have fewer than {FEW_VARIANTS} variants ({shown}); "
              "clients' wordings are matched against the question and its variants, so each "
              "variant written as clients ask makes answers more likely")
    return 0


def shared_phrasings(kb: KnowledgeBase) -> list[tuple[str, list[str]]]:
    """Questions and variants that two or more entries share, word for word (case, ё and
    punctuation aside): the exact-wording rule can answer only one of them."""
    owners: dict[str, list[str]] = {}
    shown: dict[str, str] = {}
    for entry in kb.entries:
        for text in (entry.question, *entry.variants):
            key = " ".join(re.findall(r"\w+", text.lower().replace("ё", "е")))
            if key and entry.id not in owners.setdefault(key, []):
                owners[key].append(entry.id)
                shown.setdefault(key, text.strip())
    return [(shown[k], ids) for k, ids in owners.items() if len(ids) > 1]


def run_ask(args: argparse.Namespace) -> int:
    if not args.text.strip():
        print("ask: the text is empty: give the client's message to match", file=sys.stderr)
        return 2
    try:
        matcher = _matcher(args)
    except KbError as error:
        return _fail(error)
    except NeuralUnavailable as error:
        print(error, file=sys.stderr)
        return 2
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
    try:
        matcher = _matcher(args)
    except KbError as error:
        return _fail(error)
    except NeuralUnavailable as error:
        print(error, file=sys.stderr)
        return 2
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


def run_import(args: argparse.Namespace) -> int:
    others = _other_files(args)
    try:
        base = _base(args, others)
        kb = import_csv(args.csv, base)
    except KbError as error:
        return _fail(error)
    refused = _held_elsewhere(kb, others)
    if refused:
        print(f"{args.kb}: not written: {refused}", file=sys.stderr)
        return 2
    comments = _comment_lines(args.kb)
    try:
        if comments:
            # The YAML is written anew from the spreadsheet: its comments cannot follow.
            backup = args.kb.with_name(args.kb.name + ".bak")
            backup.write_bytes(args.kb.read_bytes())
        write_checked(args.kb, to_yaml(_without_categories_of(kb, others)), others)
    except KbError as error:
        return _fail(error)
    except OSError as error:
        print(f"{args.kb}: cannot write: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"wrote {len(kb.entries)} entries to {args.kb}")
    if comments:
        print(f"note: the {comments} comment line(s) of the old {args.kb.name} are not in the "
              f"new one (the spreadsheet has no place for them); the old file is kept as "
              f"{backup.name}")
    return 0


def _comment_lines(path: Path) -> int:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    return sum(1 for line in text.splitlines() if line.lstrip().startswith("#"))


def _base(args: argparse.Namespace, others: Sequence[Path]) -> KnowledgeBase | None:
    """What the CSV does not say is kept from: --categories or --kb, and the files served with
    it (where --kb's categories may be defined)."""
    base_path = args.categories or (args.kb if args.kb.exists() else None)
    paths = [] if base_path is None else [base_path]
    paths += [f for f in others if base_path is None or f.resolve() != base_path.resolve()]
    return load_kb(paths) if paths else None


def _other_files(args: argparse.Namespace) -> list[Path]:
    """The files served together with --kb, when --kb is one of them; else none."""
    served = list(args.served_with)
    if not served and args.served_paths is not None:
        served = list(args.served_paths(args))
    target = args.kb.resolve()
    roots = [p.resolve() for p in served]
    if not any(target == root or root in target.parents for root in roots):
        return []
    return [f for f in kb_files(served) if f.resolve() != target]


# The ids listed in the one-line refusal; the rest are counted.
_SHOWN_IDS = 5


def _held_elsewhere(kb: KnowledgeBase, others: Sequence[Path]) -> str:
    """Why the import is refused, or "" when no entry id is already in another served file."""
    held = defined_in(others).entries if others else {}
    clashes = [(e.id, held[e.id]) for e in kb.entries if e.id in held]
    if not clashes:
        return ""
    shown = ", ".join(f"{eid} (in {file})" for eid, file in clashes[:_SHOWN_IDS])
    more = f" and {len(clashes) - _SHOWN_IDS} more" if len(clashes) > _SHOWN_IDS else ""
    return (f"{len(clashes)} entry id(s) already in other knowledge-base files: {shown}{more}; "
            "remove them from the CSV or from those files")


def _without_categories_of(kb: KnowledgeBase, others: Sequence[Path]) -> KnowledgeBase:
    # A category defined in another served file would be a duplicate definition here.
    elsewhere = defined_in(others).categories if others else frozenset()
    kept = tuple(c for c in kb.categories if c.id not in elsewhere)
    return KnowledgeBase(categories=kept, entries=kb.entries, institution=kb.institution)


def run_export(args: argparse.Namespace) -> int:
    try:
        kb = load_kb(args.kb)
    except KbError as error:
        return _fail(error)
    try:
        export_csv(kb, args.csv, ";" if args.semicolon else ",")
    except OSError as error:
        print(f"{args.csv}: cannot write: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"wrote {len(kb.entries)} entries to {args.csv}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="faq", description=__doc__)
    add_commands(parser)
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        return discard_stdout()
    return code


def discard_stdout() -> int:
    """After the reader of our output left (`faq ask … | head -1`): Python's documented way,
    so that the interpreter's last flush does not print a traceback either; exit 1."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1


if __name__ == "__main__":
    sys.exit(main())
