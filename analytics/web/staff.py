"""The administrator's staff page (/admin/staff): accounts, new ones, new passwords, disabling.

The same rules and changes as `priemnaya user` (bots/web/accounts.py). A generated password
is shown once, on the page the form's POST returns (never in a URL, never cached), and never
written to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from analytics.logbook import audit
from analytics.web.deps import ADMIN
from bots.web.accounts import MAX_NAME, account_problem
from bots.web.auth import AUTH, Role, StaffUser, current_user, require, see_other
from handlers.routing import QueueDirectory
from storage.users import LastAdmin, LoginTaken, StaffAccount

ROLES = {Role.SPECIALIST.value: "Специалист", Role.ADMIN.value: "Администратор"}
# What the list's redirect may announce (?done=… / ?error=…); anything else is ignored.
DONE = frozenset({"disabled", "enabled", "profile"})
ERRORS = frozenset({"self", "last_admin", "missing", "own_password", "repeated", "self_role",
                    "name_long", "name_lines", "role"})


def form_token(account: StaffAccount) -> str:
    """The «Новый пароль» form's token: a digest of the password the form was shown with. A
    refresh of the page that showed the new password posts the form again; the password has
    changed since, so the token no longer matches and no other one is set (and shown). Kept
    in the database, not in a process: any replica tells a repeat."""
    digest = hashlib.sha256(f"{account.id}:{account.password_hash}".encode()).hexdigest()
    return digest[:32]
_FIELD = 300  # longer than any valid value: enough to say how long it was, no more


def _user(request: web.Request) -> StaffUser:
    user = current_user(request)
    assert user is not None  # @require let the request through
    return user


def memberships(queues: QueueDirectory) -> dict[str, list[str]]:
    """Login → titles of the queues the settings make it a member of."""
    found: dict[str, list[str]] = {}
    for queue in queues.queues:
        for login in queue.members:
            found.setdefault(login, []).append(queue.title)
    return found


async def _page(request: web.Request, status: int = 200, **extra: Any) -> web.Response:
    deps = request.app[ADMIN]
    rows = await request.config_dict[AUTH].accounts.overview()
    member_of = memberships(deps.queues)
    known = {row.account.login for row in rows}
    done, error = request.query.get("done", ""), request.query.get("error", "")
    context: dict[str, Any] = {
        "rows": rows, "member_of": member_of, "roles": ROLES, "tz": deps.tz,
        "unknown_members": sorted(set(member_of) - known), "max_name": MAX_NAME,
        "done": done if done in DONE else "", "error": error if error in ERRORS else "",
        "subject": _subject_id(request.query.get("who", "")), "form": {}, "form_error": "",
        "released": _subject_id(request.query.get("released", "")) or 0,
        "form_token": form_token,
        **(await deps.banners())}
    context.update(extra)
    return aiohttp_jinja2.render_template("admin_staff.html", request, context, status=status)


@require(Role.ADMIN)
async def staff_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


def _subject_id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 19 else None


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip()[:_FIELD] if isinstance(value, str) else ""


async def _audit(request: web.Request, action: str, login: str, details: str) -> None:
    """An administrator's change to a staff account, in the audit (never a password)."""
    deps = request.app[ADMIN]
    await audit(deps.sessions, deps.clock(), _user(request).login, action, "staff", login,
                details, deps.institution)


def _shown_once(request: web.Request, context: dict[str, Any]) -> web.Response:
    """The page with a password on it: the browser must not keep it in its cache."""
    response = aiohttp_jinja2.render_template("admin_staff_password.html", request, context)
    response.headers["Cache-Control"] = "no-store"
    return response


@require(Role.ADMIN)
async def create(request: web.Request) -> web.StreamResponse:
    auth = request.config_dict[AUTH]
    form = await request.post()
    login, name, role = _field(form, "login"), _field(form, "name"), _field(form, "role")
    typed = {"login": login, "name": name, "role": role}
    problem = "role" if role not in ROLES else account_problem(login, name)
    if problem is not None:
        # The name sent back is cut to _FIELD: its length is the one typed.
        typed_name = form.get("name", "")
        chars = len(typed_name.strip()) if isinstance(typed_name, str) else 0
        return await _page(request, 400, form=typed, form_error=problem, name_chars=chars)
    try:
        _, password = await auth.registry().create(login, name, role, request.app[ADMIN].clock())
    except LoginTaken:
        return await _page(request, 409, form=typed, form_error="taken")
    await _audit(request, "staff_create", login, f"роль: {ROLES.get(role, role)}")
    return _shown_once(request, {"login": login, "name": name or login, "role": ROLES[role],
                                 "password": password, "created": True})


async def _subject(request: web.Request) -> StaffAccount | None:
    account_id = int(request.match_info["id"])
    found: StaffAccount | None = await request.config_dict[AUTH].accounts.by_id(account_id)
    return found


def _back(outcome: str, account: StaffAccount | None = None,
          released: int | None = None) -> web.Response:
    key = "done" if outcome in DONE else "error"
    who = f"&who={account.id}" if account else ""
    count = f"&released={released}" if released is not None else ""
    return see_other(f"/admin/staff?{key}={outcome}{who}{count}")


@require(Role.ADMIN)
async def reset_password(request: web.Request) -> web.StreamResponse:
    auth = request.config_dict[AUTH]
    account = await _subject(request)
    if account is None:
        return _back("missing")
    if account.id == _user(request).id:
        return _back("own_password")  # would end this very session: the own page keeps it
    token = _field(await request.post(), "form_token")
    if not hmac.compare_digest(token, form_token(account)):
        return _back("repeated", account)
    password = await auth.registry().new_password(account)
    if password is None:
        return _back("missing")
    await _audit(request, "staff_password_reset", account.login, "сеансы завершены")
    return _shown_once(request, {"login": account.login,
                                 "name": account.display_name or account.login,
                                 "role": ROLES.get(account.role, account.role),
                                 "password": password, "created": False})


@require(Role.ADMIN)
async def set_profile(request: web.Request) -> web.StreamResponse:
    auth = request.config_dict[AUTH]
    account = await _subject(request)
    if account is None:
        return _back("missing")
    form = await request.post()
    name, role = _field(form, "name"), _field(form, "role")
    if role not in ROLES:
        return _back("role", account)
    if account.id == _user(request).id and role != account.role:
        return _back("self_role", account)  # would lock the administrator out of this page
    try:
        if not await auth.registry().set_profile(account, name, role):
            return _back("missing")
    except ValueError as exc:
        return _back(str(exc), account)
    except LastAdmin:
        return _back("last_admin", account)
    # The audit masks people's names (analytics.logbook.audit): whether it changed is said.
    renamed = "имя изменено; " if (name or account.login) != account.display_name else ""
    await _audit(request, "staff_profile", account.login, f"{renamed}роль: {ROLES[role]}")
    return _back("profile", account)


@require(Role.ADMIN)
async def disable(request: web.Request) -> web.StreamResponse:
    auth = request.config_dict[AUTH]
    account = await _subject(request)
    if account is None:
        return _back("missing")
    if account.id == _user(request).id:
        return _back("self", account)
    try:
        done = await auth.registry().disable(account)
    except LastAdmin:
        return _back("last_admin", account)
    if done is None:
        return _back("missing")
    await _audit(request, "staff_disable", account.login,
                 f"сеансы завершены, обращений возвращено в очередь: {done.released}")
    return _back("disabled", account, released=done.released)


@require(Role.ADMIN)
async def enable(request: web.Request) -> web.StreamResponse:
    auth = request.config_dict[AUTH]
    account = await _subject(request)
    if account is None or not await auth.registry().enable(account):
        return _back("missing")
    await _audit(request, "staff_enable", account.login, "")
    return _back("enabled", account)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/admin/staff", staff_page)
    app.router.add_post("/admin/staff", create)
    base = r"/admin/staff/{id:\d{1,18}}/"
    app.router.add_post(base + "password", reset_password)
    app.router.add_post(base + "disable", disable)
    app.router.add_post(base + "profile", set_profile)
    app.router.add_post(base + "enable", enable)
