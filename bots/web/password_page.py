"""Every signed-in staff member changes their own password at /account/password.

The current password is asked for (a session left open on a shared computer is not enough),
wrong guesses count towards the sign-in limits, and the change ends every other session of
the account; the session that made it stays signed in.
"""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from bots.web.auth import (
    AUTH,
    current_user,
    render_error,
    require,
    see_other,
    session_token_hash,
)
from bots.web.passwords import MAX_LENGTH, MIN_LENGTH, password_problem, verify_password

PATH = "/account/password"


def _page(request: web.Request, status: int = 200, error: str = "") -> web.Response:
    return aiohttp_jinja2.render_template(
        "staff_password.html", request,
        {"error": error, "done": request.query.get("done") == "1",
         "min_length": MIN_LENGTH, "max_length": MAX_LENGTH}, status=status)


@require()
async def show(request: web.Request) -> web.StreamResponse:
    return _page(request)


def _typed(value: object) -> str:
    # One character past the limit is enough to tell "too long"; the rest is not read.
    return value[:MAX_LENGTH + 1] if isinstance(value, str) else ""


@require()
async def change(request: web.Request) -> web.StreamResponse:
    auth, user = request.config_dict[AUTH], current_user(request)
    assert user is not None
    form = await request.post()
    current, new = _typed(form.get("current")), _typed(form.get("new"))
    repeated = _typed(form.get("repeat"))
    address = auth.address_of(request)
    if await auth.limiter.blocked(user.login, address):
        return render_error(request, 429, "password_limited")
    account = await auth.accounts.by_id(user.id)
    if account is None:
        raise web.HTTPSeeOther("/login")
    if not await verify_password(account.password_hash, current):
        await auth.limiter.failed(user.login, address)
        await auth.audit.write(user.login, "password_change_failed", auth.clock(), "staff",
                               user.login, address)
        return _page(request, 400, "wrong_current")
    error = (password_problem(new) or ("mismatch" if new != repeated else None)
             or ("same" if new == current else None))
    if error is not None:
        return _page(request, 400, error)
    if await auth.registry().new_password(account, new, session_token_hash(request)) is None:
        raise web.HTTPSeeOther("/login")
    await auth.audit.write(user.login, "password_change", auth.clock(), "staff", user.login,
                           "другие сеансы завершены")
    return see_other(f"{PATH}?done=1")


def setup_routes(app: web.Application) -> None:
    app.router.add_get(PATH, show)
    app.router.add_post(PATH, change)
