"""Staff authentication for the desk and the admin pages: sessions, roles, CSRF."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, TypeVar, cast
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bots.web.accounts import StaffRegistry
from bots.web.client_address import Network, client_address, parse_networks
from bots.web.ratelimit import LoginLimiter, MemoryLoginLimiter
from handlers.event_ports import Notifier
from storage.users import SqlAuditLog, SqlStaffAccounts, SqlWebSessions, StaffAccount

COOKIE = "priemnaya_staff"
LOGIN_COOKIE = "priemnaya_login"
SESSION_TTL = timedelta(hours=12)
# A sliding session is pushed forward at most once a minute, not on every request.
EXTEND_EVERY = timedelta(minutes=1)
STAFF_PREFIXES = ("/desk", "/admin", "/login", "/logout", "/account")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_SESSION_CSRF = web.RequestKey("staff_csrf", str)
_LOGIN_CSRF = web.RequestKey("staff_login_csrf", str)
_NEW_LOGIN_CSRF = web.RequestKey("staff_new_login_csrf", str)
_SESSION = web.RequestKey("staff_session", tuple[str, datetime])


class Role(StrEnum):
    ADMIN = "admin"
    SPECIALIST = "specialist"


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: int
    login: str
    display_name: str
    role: Role

    def has_role(self, roles: tuple[Role, ...]) -> bool:
        """Admin can do everything a specialist can; no roles given means any staff."""
        return not roles or self.role is Role.ADMIN or self.role in roles


def to_staff_user(account: StaffAccount) -> StaffUser:
    role = Role.ADMIN if account.role == Role.ADMIN else Role.SPECIALIST
    return StaffUser(account.id, account.login, account.display_name or account.login, role)


class CookieSettings(Protocol):
    @property
    def cookie_secure(self) -> bool: ...

    @property
    def trusted_proxies(self) -> list[str]: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Auth:
    accounts: SqlStaffAccounts
    sessions: SqlWebSessions
    audit: SqlAuditLog
    limiter: LoginLimiter
    clock: Callable[[], datetime]
    cookie_secure: bool
    ttl: timedelta = SESSION_TTL
    trusted_proxies: tuple[Network, ...] = ()
    notifier: Notifier | None = None  # conversations an account change puts back in a queue

    def address_of(self, request: web.Request) -> str:
        """The client's address, read past trusted reverse proxies (web.trusted_proxies)."""
        return client_address(request.remote, request.headers.get("X-Forwarded-For", ""),
                              self.trusted_proxies)

    def registry(self) -> StaffRegistry:
        """Creating accounts, new passwords, disabling: as `priemnaya user` does them."""
        return StaffRegistry(self.accounts, self.sessions, self.notifier)

    def set_cookie(self, response: web.StreamResponse, name: str, value: str) -> None:
        response.set_cookie(name, value, max_age=int(self.ttl.total_seconds()), path="/",
                            httponly=True, samesite="Strict", secure=self.cookie_secure)


AUTH = web.AppKey("staff_auth", Auth)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def set_str_key(request: web.Request, key: str, value: object) -> None:
    """request["user"] and aiohttp_jinja2's context are plain-string keys by contract;
    aiohttp 3.14 warns on those (an error under the test suite's filterwarnings)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", web.NotAppKeyWarning)
        request[key] = value


def current_user(request: web.Request) -> StaffUser | None:
    user = request.get("user")
    return user if isinstance(user, StaffUser) else None


def session_token_hash(request: web.Request) -> str:
    """The stored hash of this request's session token, or "" without a session."""
    session = request.get(_SESSION)
    return hash_token(session[0]) if session else ""


async def still_signed_in(request: web.Request) -> bool:
    """For long-lived responses: the session may have ended (logout, disabled) meanwhile."""
    session = request.get(_SESSION)
    if session is None:
        return False
    auth = request.config_dict[AUTH]
    return await auth.sessions.find(hash_token(session[0]), auth.clock()) is not None


def expected_csrf(request: web.Request) -> str:
    """The token a form must carry: the session's; before login, the pre-session cookie's."""
    return request.get(_SESSION_CSRF) or request.cookies.get(LOGIN_COOKIE, "")


def csrf_token(request: web.Request) -> str:
    """The session's token; before login, one bound to a pre-session cookie."""
    known: str | None = request.get(_SESSION_CSRF) or request.get(_LOGIN_CSRF)
    if known:
        return known
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if _TOKEN.match(cookie):
        token = cookie
    else:
        token = secrets.token_urlsafe(32)
        request[_NEW_LOGIN_CSRF] = token
    request[_LOGIN_CSRF] = token
    return token


async def staff_context(request: web.Request) -> dict[str, Any]:
    """A jinja2 context processor: every staff page gets `user` and `csrf_token`."""
    if not request.path.startswith(STAFF_PREFIXES):
        return {}
    return {"user": current_user(request), "csrf_token": csrf_token(request)}


def see_other(location: str) -> web.Response:
    """A redirect after POST that, unlike a raised HTTPSeeOther, can still carry cookies."""
    return web.Response(status=303, headers={"Location": location})


def render_error(request: web.Request, status: int, kind: str) -> web.Response:
    return aiohttp_jinja2.render_template("staff_error.html", request,
                                          {"status": status, "kind": kind}, status=status)


Handler = TypeVar("Handler", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


def require(*roles: Role) -> Callable[[Handler], Handler]:
    """Not logged in: to the login page and back; logged in without the role: 403."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def checked(request: web.Request) -> web.StreamResponse:
            user = current_user(request)
            if user is None:
                raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='')}")
            if not user.has_role(roles):
                return render_error(request, 403, "admin_only")
            return await handler(request)

        return cast(Handler, checked)

    return decorate


@web.middleware
async def auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    set_str_key(request, "user", None)
    if not request.path.startswith(STAFF_PREFIXES):
        response: web.StreamResponse = await handler(request)
        return response
    auth = request.config_dict[AUTH]
    token = request.cookies.get(COOKIE, "")
    if not token and _cross_site_get(request):
        return aiohttp_jinja2.render_template("staff_reload.html", request, {})
    found = await auth.sessions.find(hash_token(token), auth.clock()) if token else None
    if found is not None:
        set_str_key(request, "user", to_staff_user(found.account))
        request[_SESSION_CSRF] = found.csrf_token
        request[_SESSION] = (token, found.expires_at)
    response = await handler(request)
    if not response.prepared:
        await _refresh_cookies(request, auth, response)
    return response


def _cross_site_get(request: web.Request) -> bool:
    """A link followed from elsewhere (a Telegram topic, an e-mail) arrives without the
    SameSite=Strict cookie; reloading from our own page sends it."""
    return (request.method == "GET" and request.headers.get("Sec-Fetch-Site") == "cross-site"
            and request.headers.get("Sec-Fetch-Mode") == "navigate")


async def _refresh_cookies(request: web.Request, auth: Auth,
                           response: web.StreamResponse) -> None:
    new_login = request.get(_NEW_LOGIN_CSRF)
    if new_login:
        auth.set_cookie(response, LOGIN_COOKIE, new_login)
    session = request.get(_SESSION)
    if session is None or COOKIE in response.cookies:
        return
    token, expires_at = session
    now = auth.clock()
    if expires_at - now < auth.ttl - EXTEND_EVERY:
        await auth.sessions.extend(hash_token(token), now + auth.ttl)
        auth.set_cookie(response, COOKIE, token)


def setup_auth(
    app: web.Application, sessions: async_sessionmaker[AsyncSession], config: CookieSettings,
    *, clock: Callable[[], datetime] = utc_now, limiter: LoginLimiter | None = None,
    institution_id: str = "default", notifier: Notifier | None = None,
) -> Auth:
    from bots.web import login, password_page
    from bots.web.csrf import csrf_middleware

    auth = Auth(SqlStaffAccounts(sessions), SqlWebSessions(sessions),
                SqlAuditLog(sessions, institution_id), limiter or MemoryLoginLimiter(clock), clock,
                config.cookie_secure, trusted_proxies=parse_networks(config.trusted_proxies),
                notifier=notifier)
    app[AUTH] = auth
    _add_context_processor(app)
    # Order: auth (who is it), context processors (see the user), CSRF (its error page too).
    app.middlewares.extend([auth_middleware, context_middleware, csrf_middleware])
    app.on_response_prepare.append(no_store)
    login.setup_routes(app)
    password_page.setup_routes(app)
    return auth


async def no_store(request: web.Request, response: web.StreamResponse) -> None:
    """Staff pages, exports and files show clients' personal data: after «Выход» the Back
    button must not bring them back from the browser's cache. A signal, unlike a middleware,
    also reaches streamed responses (events, files) and the errors aiohttp renders itself."""
    if request.path.startswith(STAFF_PREFIXES):
        response.headers["Cache-Control"] = "no-store"


def _add_context_processor(app: web.Application) -> None:
    key = aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY
    processors: list[Any] = list(cast(Any, app).get(key, ()))
    if aiohttp_jinja2.context_processors_middleware in app.middlewares:
        app.middlewares.remove(aiohttp_jinja2.context_processors_middleware)
    else:
        processors.append(aiohttp_jinja2.request_processor)
    app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY] = [*processors, staff_context]


@web.middleware
async def context_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """aiohttp_jinja2's context_processors_middleware, without its string-key warning."""
    context: dict[str, Any] = dict(request.get(aiohttp_jinja2.REQUEST_CONTEXT_KEY) or {})
    for processor in request.config_dict[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY]:
        context.update(await processor(request))
    set_str_key(request, aiohttp_jinja2.REQUEST_CONTEXT_KEY, context)
    response: web.StreamResponse = await handler(request)
    return response
