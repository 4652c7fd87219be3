"""`faq` commands: check, ask, eval, import, export; argparse only, runnable standalone."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from faq.cli_files import run_check, run_export, run_import
from faq.cli_matching import (
    BeforeMatching,
    ServedCache,
    ServedMatcher,
    ServedPaths,
    run_ask,
    run_eval,
)


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
