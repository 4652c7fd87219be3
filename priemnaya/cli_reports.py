"""CLI commands of the analytics part: `priemnaya report` and `priemnaya retention run`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError

from analytics.exports import conversation_table, daily_table, to_csv, to_xlsx
from analytics.logbook import audit
from analytics.metrics import compute
from analytics.queries import load_dataset
from analytics.records import Filters, Period
from analytics.report import build_environment, render_html
from analytics.retention import Purged, purge_raw_texts
from faq.loader import KbError, load_kb
from handlers.texts import BrokenTemplate
from priemnaya.analytics_setup import build_queues
from priemnaya.cli_errors import shown_url
from priemnaya.settings import Settings
from storage.engine import build_engine, build_sessions

WEB_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "web"
FORMATS = ("html", "csv", "xlsx")
MIN_YEAR, MAX_YEAR = 2000, 2100


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from priemnaya.cli import _settings_args

    report = sub.add_parser("report", help="the report for a period: html, csv or xlsx")
    _settings_args(report)
    report.add_argument("--from", dest="first", required=True, type=_day, metavar="DATE")
    report.add_argument("--to", dest="last", required=True, type=_day, metavar="DATE")
    report.add_argument("--format", choices=FORMATS, default="html")
    report.add_argument("--out", type=Path, default=None,
                        help="file to write (default: priemnaya-FROM-TO.FORMAT; '-' stdout)")
    report.set_defaults(handler=cmd_report)
    retention = sub.add_parser("retention", help="erasure of old message texts")
    run = retention.add_subparsers(dest="action", required=True).add_parser(
        "run", help="erase texts older than retention.raw_text_days now")
    _settings_args(run)
    run.add_argument("--dry-run", action="store_true",
                     help="only count what would be erased; change nothing")
    run.set_defaults(handler=cmd_retention)


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise argparse.ArgumentTypeError(f"{text!r}: the year must be {MIN_YEAR}-{MAX_YEAR}")
    return day


def cmd_report(args: argparse.Namespace) -> int:
    from priemnaya.cli import settings_from

    settings = settings_from(args)
    if args.last < args.first:
        print("priemnaya: --to is before --from", file=sys.stderr)
        return 2
    period = Period(args.first, args.last, ZoneInfo(settings.institution.timezone))
    out: Path = args.out or Path(f"priemnaya-{args.first}-{args.last}.{args.format}")
    categories = category_titles(settings)
    try:
        body = asyncio.run(build_report(settings, period, args.format, datetime.now(UTC),
                                        categories))
    except (DBAPIError, OSError) as exc:
        database = shown_url(settings.database.url)
        print(f"priemnaya: cannot read {database}: {_first_line(exc)} "
              "(is the database migrated? `priemnaya db upgrade`)", file=sys.stderr)
        return 1
    if str(out) == "-":
        sys.stdout.buffer.write(body)
        return 0
    return write_report(out, body)


def write_report(out: Path, body: bytes) -> int:
    try:
        out.write_bytes(body)
    except OSError as exc:
        print(f"priemnaya: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"report written: {out}", file=sys.stderr)
    return 0


def category_titles(settings: Settings) -> dict[str, str]:
    """The categories' titles by id, as the admin pages show them (from the knowledge base)."""
    try:
        kb = load_kb(settings.faq.paths)
    except KbError as exc:
        # The figures still stand; only the category names fall back to their ids.
        print(f"priemnaya: warning: categories shown by id, the knowledge base faq.paths is not "
              f"usable: {exc.problems[0] if exc.problems else exc}", file=sys.stderr)
        return {}
    return {c.id: c.title for c in kb.categories}


async def build_report(settings: Settings, period: Period, fmt: str, now: datetime,
                       categories: dict[str, str] | None = None) -> bytes:
    engine = build_engine(settings.database.url)
    try:
        sessions = build_sessions(engine)
        data = await load_dataset(sessions, period, Filters(), now, settings.institution.id,
                                  categories)
        await audit(sessions, now, f"cli:{getpass.getuser()}"[:64], "export", "report",
                    fmt, f"from={period.first} to={period.last}", settings.institution.id)
    finally:
        await engine.dispose()
    queues = build_queues(settings)
    report = compute(data, queues)
    conversations = conversation_table(data, report, queues.titles())
    if fmt == "xlsx":
        return to_xlsx([conversations, daily_table(report)])
    if fmt == "csv":
        # One file: the conversations, an empty line, then the daily series.
        daily = to_csv(daily_table(report)).lstrip("\ufeff")
        return (to_csv(conversations) + "\r\n" + daily).encode("utf-8")
    override = settings.templates.override_dir
    env = build_environment(WEB_TEMPLATES, override / "web" if override else None,
                            on_broken=warn_broken)
    html = render_html(env, data, report, settings.institution.name, now)
    return html.encode("utf-8")


def warn_broken(broken: BrokenTemplate) -> None:
    print(f"priemnaya: warning: {broken.file} fails, the built-in report template is used: "
          f"{(broken.error.splitlines() or [''])[0]}", file=sys.stderr)


def _first_line(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]


def cmd_retention(args: argparse.Namespace) -> int:
    from priemnaya.cli import settings_from

    settings = settings_from(args)
    try:
        purged = asyncio.run(run_retention(settings, datetime.now(UTC), args.dry_run))
    except (DBAPIError, OSError) as exc:
        database = shown_url(settings.database.url)
        print(f"priemnaya: cannot update {database}: {_first_line(exc)}", file=sys.stderr)
        return 1
    verb = "would erase" if args.dry_run else "erased"
    print(f"{verb} texts: {purged.messages} messages, {purged.inbound_events} raw events, "
          f"{purged.deliveries} delivered payloads, {purged.files} files sent from the desk, "
          f"{purged.suggestions} knowledge-base suggestions, {purged.names} client names; "
          f"{purged.staff_posts} posts and topics in the staff group due for deletion")
    return 0


async def run_retention(settings: Settings, now: datetime, dry_run: bool = False) -> Purged:
    engine = build_engine(settings.database.url)
    try:
        return await purge_raw_texts(build_sessions(engine), now,
                                     settings.retention.raw_text_days, dry_run)
    finally:
        await engine.dispose()
