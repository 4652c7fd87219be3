"""The CSRF check of staff forms, and the way back for a form whose session has ended."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from yarl import URL

from bots.web.auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    STAFF_PREFIXES,
    UNSAFE_METHODS,
    current_user,
    expected_csrf,
    render_error,
    see_other,
)

# Pages a form may be sent from; the notices of its last outcome are not part of the way back.
_RETURN_PREFIXES = ("/desk", "/admin", "/account")
_OUTCOME_KEYS = frozenset({"done", "error"})


@web.middleware
async def csrf_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    if request.method in UNSAFE_METHODS and request.path.startswith(STAFF_PREFIXES):
        expected = expected_csrf(request)
        given = request.headers.get(CSRF_HEADER)
        if given is None:
            field = (await request.post()).get(CSRF_FIELD)
            given = field if isinstance(field, str) else ""
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return _refused(request)
    response: web.StreamResponse = await handler(request)
    return response


def _refused(request: web.Request) -> web.StreamResponse:
    """Without a session, a staff form (other than the login form) comes from a page whose
    session has since ended (its 12 hours passed, «Выход» in another tab): no forgery to
    report but a sign-in, a redirect so that reloading does not post the form again."""
    if current_user(request) is not None or request.path == "/login":
        return render_error(request, 403, "csrf")
    back = return_path(request.headers.get("Referer", ""))
    return see_other("/login?" + urlencode({"ended": "1", "next": back}))


def return_path(referer: str) -> str:
    """The staff page the form was on, without its last outcome; else the desk."""
    try:
        page = URL(referer)
    except ValueError:
        return "/desk/"
    if not page.path.startswith(_RETURN_PREFIXES) or page.path.startswith("//"):
        return "/desk/"
    kept = [(k, v) for k, v in page.query.items() if k not in _OUTCOME_KEYS]
    return str(URL.build(path=page.path, query=kept))
