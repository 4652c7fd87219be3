"""Starts the service: the aiohttp app with the web chat, and the bots that are enabled."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from aiohttp import web

from priemnaya.analytics_setup import add_retention, queue_members_without_account
from priemnaya.channels import build_channels
from priemnaya.cli_errors import CommandError, database_errors, os_reason
from priemnaya.runner import build_runner
from priemnaya.runtime import Runtime, build_runtime
from priemnaya.settings import Settings, check_folders
from priemnaya.users_cli import FIRST_ADMIN, ensure_first_admin
from priemnaya.webapp import BROKEN_PAGES, build_app
from storage.users import SqlStaffAccounts

log = logging.getLogger(__name__)


async def announce_first_admin(rt: Runtime) -> None:
    """Printed to the console only, never logged: the operator copies it and changes it."""
    password = await ensure_first_admin(SqlStaffAccounts(rt.sessions))
    if password is not None:
        print(f"An administrator account was created: login {FIRST_ADMIN!r}, "
              f"password {password!r} (shown once; change it with "
              f"`priemnaya user passwd {FIRST_ADMIN}`).", flush=True)


# Young collections every 5,000 container allocations instead of 700: handling one message
# allocates thousands of short-lived objects (parsed updates, rows, requests), so the default
# collected ~0.13 times per update, ~4 % of the Telegram bench's CPU (docs/benchmarks.md).
COLLECTOR_THRESHOLDS = (5_000, 20, 20)


def freeze_startup_heap() -> None:
    """What start-up built (modules, the knowledge base's index, templates) lives as long as
    the process: frozen, it is no longer walked by every full collection of the garbage
    collector (18 % more Telegram updates per second, docs/benchmarks.md). Young
    collections then run less often (COLLECTOR_THRESHOLDS)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def build_service(settings: Settings) -> tuple[Runtime, web.Application]:
    from priemnaya.faq_setup import LiveFaqEditor, added_entries_file, build_faq

    check_folders(settings)
    faq = build_faq(settings)
    rt = build_runtime(settings, faq)
    rt.kb_editor = LiveFaqEditor(faq, added_entries_file(settings))
    rt.background.append(lambda: faq.watch(settings.faq.reload_interval_s))
    add_retention(rt)
    for plugin in build_channels(settings, rt.context):
        rt.add_channel(plugin)
    app = build_app(rt)
    log_broken_templates(settings, rt, app)
    return rt, app


def log_broken_templates(settings: Settings, rt: Runtime, app: web.Application) -> None:
    """At start, what `priemnaya settings` reports of the institution's templates: the ones
    that fail are logged as ERROR (once, as at a render) and served by the built-in ones."""
    from priemnaya.templates_check import broken_canned, template_warnings

    rt.texts.broken()
    app[BROKEN_PAGES]()
    for broken in broken_canned(settings):
        log.error("ready reply %s fails, the desk lists the built-in one of its name (if any) "
                  "instead: %s", broken.file, broken.error)
    for warning in template_warnings(settings):
        log.warning(warning)


async def serve(settings: Settings) -> None:
    rt, app = build_service(settings)
    # The first query: a database that is down or not migrated stops the start here.
    with database_errors(settings.database.url):
        await announce_first_admin(rt)
        for member in await queue_members_without_account(rt):
            log.warning("%s", member)
    runner = build_runner(app)
    await runner.setup()
    try:
        await listen(runner, settings.web.host, settings.web.port)
        freeze_startup_heap()
        print(f"Priemnaya is running: http://{settings.web.host}:{settings.web.port}/",
              flush=True)
        await until_signalled()
        log.info("shutting down")
    finally:
        await runner.cleanup()


async def listen(runner: web.AppRunner, host: str, port: int) -> None:
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        raise CommandError(f"cannot listen on {host}:{port}: {os_reason(exc)}") from None


async def until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
