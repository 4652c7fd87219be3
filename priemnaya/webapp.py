"""The aiohttp application: web chat, and the hooks where desk, admin and webhooks join."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web

from analytics.numbers import add_number_filters
from analytics.web import setup_admin
from bots.redis_client import build_redis, close_redis
from bots.web.auth import STAFF_PREFIXES, render_error, setup_auth
from bots.web.chat import (
    CHAT_LIMITS,
    FILES,
    RECEPTION,
    TEXTS,
    TIMELINE,
    ChatLimits,
    setup_chat,
)
from bots.web.desk import DeskServices, setup_desk
from bots.web.desk.canned import CannedResponses
from bots.web.desk.uploads import upload_limit
from bots.web.pages import PageLoader, PageTemplate
from bots.web.ratelimit import LoginLimiter, RedisLoginLimiter
from handlers.texts import BrokenTemplate
from priemnaya.analytics_setup import build_admin_deps, kb_failure_of
from priemnaya.health import DatabaseProbe, build_database_probe
from priemnaya.runtime import Runtime, running
from storage.desk_queries import SqlDeskQueries
from storage.faq_suggestions import SqlFaqSuggestions
from storage.users import SqlAuditLog

log = logging.getLogger(__name__)

WEB_TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "web"
STATIC = WEB_TEMPLATES.parent / "static"
# Browsers ask for the icon on every page that names none; a day's cache spares those requests.
_ICON_CACHE = "public, max-age=86400"
RUNTIME = web.AppKey("runtime", Runtime)
# The institution's pages that fail, each compiled anew once changed (bots/web/pages.py).
BROKEN_PAGES: web.AppKey[Callable[[], Sequence[BrokenTemplate]]] = web.AppKey("broken_pages")
DATABASE_PROBE = web.AppKey("database_probe", DatabaseProbe)


@web.middleware
async def errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Unexpected failures become a clear 500 that promises nothing: the failure may have come
    before the client's message was stored."""
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except web.HTTPException as exc:
        if request.path.startswith("/api/") and exc.status >= 400:
            return web.json_response({"ok": False, "error": _reason(exc)}, status=exc.status)
        if exc.status == 413 and request.path.startswith(STAFF_PREFIXES):
            return render_error(request, 413, "too_large")
        if exc.status == 404 and request.path.startswith(STAFF_PREFIXES):
            return render_error(request, 404, "not_found")
        if exc.status == 404:
            return web.Response(status=404, text="Страница не найдена.")
        raise
    except Exception:
        log.exception("request %s %s failed", request.method, request.path)
        if request.path.startswith("/api/"):
            return web.json_response(
                {"ok": False, "error": request.app[RUNTIME].texts.render("internal_error")},
                status=500)
        return web.Response(status=500, text="Внутренняя ошибка сервера.")


def _reason(exc: web.HTTPException) -> str:
    if exc.status == 413:
        return "Запрос слишком большой. Напишите, пожалуйста, короче."
    return exc.reason


def build_app(rt: Runtime, *, start_background: bool = True) -> web.Application:
    app = web.Application(middlewares=[errors, upload_limit], client_max_size=1024 * 1024)
    app[RUNTIME] = rt
    app[DATABASE_PROBE] = build_database_probe(rt.engine)
    app[RECEPTION] = rt.reception
    app[TIMELINE] = rt.timeline
    app[FILES] = rt.context.files
    app[TEXTS] = rt.texts
    app[CHAT_LIMITS] = ChatLimits(rt.settings.web.max_message_chars, rt.settings.web.cookie_secure)
    override = rt.settings.templates.override_dir
    pages = PageLoader(WEB_TEMPLATES, override / "web" if override else None)
    env = aiohttp_jinja2.setup(app, loader=pages, autoescape=True)
    env.template_class = PageTemplate
    add_number_filters(env)
    setup_chat(app)
    auth = setup_auth(app, rt.sessions, rt.settings.web, clock=rt.clock,
                      limiter=build_login_limiter(app, rt),
                      institution_id=rt.settings.institution.id, notifier=rt.notifier)
    setup_desk(app, build_desk_services(rt, auth.audit))
    broken_pages: Callable[[], Sequence[BrokenTemplate]] = partial(pages.broken, env)
    app[BROKEN_PAGES] = broken_pages
    setup_admin(app, build_admin_deps(rt, broken_pages))
    for channel in rt.channels:
        channel.setup_routes(app)
    app.router.add_get("/healthz", healthz)
    for icon in ("favicon.ico", "favicon.svg"):
        app.router.add_get(f"/{icon}", _static_file(STATIC / icon))
    if start_background:
        app.cleanup_ctx.append(_background)
    return app


def _static_file(path: Path) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(_request: web.Request) -> web.StreamResponse:
        return web.FileResponse(path, headers={"Cache-Control": _ICON_CACHE})

    return serve


def build_login_limiter(app: web.Application, rt: Runtime) -> LoginLimiter | None:
    """Shared by every replica through Redis when it is configured; else in process."""
    if not rt.settings.redis.url:
        return None
    redis = build_redis(rt.settings.redis.url)

    async def close(_app: web.Application) -> None:
        await close_redis(redis)

    app.on_cleanup.append(close)
    return RedisLoginLimiter(redis, rt.clock)


def build_desk_services(rt: Runtime, audit: SqlAuditLog) -> DeskServices:
    institution = rt.settings.institution.id
    override = rt.settings.templates.override_dir
    return DeskServices(
        desk=rt.desk, queries=SqlDeskQueries(rt.sessions, institution),
        suggestions=SqlFaqSuggestions(rt.sessions, institution), directory=rt.directory,
        hub=rt.desk_hub, canned=CannedResponses([override / "canned"] if override else []),
        audit=audit, faq=rt.faq, clock=rt.clock, kb_editor=rt.kb_editor,
        zone=ZoneInfo(rt.settings.institution.timezone), files=rt.context.files,
        uploads=rt.uploads, kb_failure=kb_failure_of(rt.faq))


async def _background(app: web.Application) -> AsyncIterator[None]:
    async with running(app[RUNTIME]):
        yield


async def healthz(request: web.Request) -> web.Response:
    """200 while the process serves and its database answers; 503 with the reason when the
    database does not (no client could be answered: a load balancer should send them to
    another replica). A replica cut off from the others says so, but it still answers its
    own clients (their replies never wait on Redis): still 200."""
    bus = request.app[RUNTIME].event_bus
    state = "off" if bus is None else "connected" if bus.connected else "degraded"
    database = await request.app[DATABASE_PROBE].check()
    if not database.ok:
        return web.json_response({"ok": False, "event_bus": state, "database": "down",
                                  "reason": database.reason}, status=503)
    return web.json_response({"ok": True, "event_bus": state, "database": "ok"})
