"""`faq check`, `faq import` and `faq export`: the knowledge base's files."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from faq.csv_io import export_csv, import_csv
from faq.live import write_checked
from faq.loader import KbError, check_kb, defined_in, kb_files, load_kb
from faq.model import KnowledgeBase
from faq.synonyms import check_synonyms
from faq.writer import to_yaml

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


def run_import(args: argparse.Namespace) -> int:
    others = _other_files(args)
    try:
        base = _base(args, others)
        kb = import_csv(args.csv, base)
    except KbError as error:
        return fail(error)
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
        return fail(error)
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
    return load_kb(paths, servable=False) if paths else None


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
        return fail(error)
    try:
        export_csv(kb, args.csv, ";" if args.semicolon else ",")
    except OSError as error:
        print(f"{args.csv}: cannot write: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"wrote {len(kb.entries)} entries to {args.csv}")
    return 0


def fail(error: KbError) -> int:
    for problem in error.problems:
        print(problem, file=sys.stderr)
    return 2
