"""The staff login and logout pages."""

from __future__ import annotations

import secrets

import aiohttp_jinja2
from aiohttp import web

from bots.web.auth import (
    AUTH,
    COOKIE,
    LOGIN_COOKIE,
    Auth,
    Role,
    current_user,
    hash_token,
    render_error,
    require,
    see_other,
)
from bots.web.passwords import MAX_LENGTH, verify_password

DEFAULT_NEXT = "/desk/"
MAX_FIELD = 200


def safe_next(value: str) -> str:
    """Only a path on this site: "//evil.example" and "https://..." fall back to the desk."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return DEFAULT_NEXT


def login_page(request: web.Request, status: int = 200, error: str = "",
               login: str = "", next_url: str = DEFAULT_NEXT) -> web.Response:
    return aiohttp_jinja2.render_template(
        "staff_login.html", request, {"error": error, "login": login, "next": next_url},
        status=status)


async def show_login(request: web.Request) -> web.StreamResponse:
    next_url = safe_next(request.query.get("next", DEFAULT_NEXT))
    if current_user(request) is not None:
        raise web.HTTPSeeOther(next_url)
    # csrf.py sends here a form posted after its session ended.
    ended = request.query.get("ended") == "1"
    return login_page(request, error="ended" if ended else "", next_url=next_url)


async def do_login(request: web.Request) -> web.StreamResponse:
    auth = request.config_dict[AUTH]
    form = await request.post()
    login = str(form.get("login", "")).strip()[:MAX_FIELD]
    password = str(form.get("password", ""))[:MAX_LENGTH]
    next_url = safe_next(str(form.get("next", DEFAULT_NEXT)))
    address = auth.address_of(request)
    if await auth.limiter.blocked(login, address):
        await auth.audit.write(login or "?", "login_blocked", auth.clock(), details=address)
        return render_error(request, 429, "rate_limited")
    account = await auth.accounts.by_login(login) if login else None
    stored = account.password_hash if account and account.active else ""
    if not await verify_password(stored, password) or account is None:
        await auth.limiter.failed(login, address)
        await auth.audit.write(login or "?", "login_failed", auth.clock(), details=address)
        return login_page(request, 401, "wrong", login, next_url)
    await auth.limiter.succeeded(login, address)
    response = see_other(next_url)
    await _start_session(auth, account.id, response)
    await auth.audit.write(account.login, "login", auth.clock(), details=address)
    return response


async def _start_session(auth: Auth, specialist_id: int, response: web.StreamResponse) -> None:
    token = secrets.token_urlsafe(32)
    now = auth.clock()
    await auth.sessions.create(specialist_id, hash_token(token), secrets.token_urlsafe(32),
                               now, now + auth.ttl)
    auth.set_cookie(response, COOKIE, token)
    response.del_cookie(LOGIN_COOKIE, path="/")


async def do_logout(request: web.Request) -> web.StreamResponse:
    auth = request.config_dict[AUTH]
    token = request.cookies.get(COOKIE, "")
    if token:
        await auth.sessions.drop(hash_token(token))
    user = current_user(request)
    if user is not None:
        await auth.audit.write(user.login, "logout", auth.clock())
    response = see_other("/login")
    response.del_cookie(COOKIE, path="/")
    return response


@require(Role.ADMIN)
async def admin_ping(request: web.Request) -> web.StreamResponse:
    """A trivial admin-only page: lets monitoring and tests check the admin role."""
    return web.json_response({"ok": True})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/login", show_login)
    app.router.add_post("/login", do_login)
    app.router.add_post("/logout", do_logout)
    app.router.add_get("/admin/ping", admin_ping)
