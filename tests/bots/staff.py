"""Helpers for tests of staff pages: an app on a real database and logging in through HTTP."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from aiohttp import ClientResponse, ClientSession, CookieJar
from aiohttp.test_utils import TestClient, TestServer

from bots.web.passwords import hash_password
from priemnaya.runtime import Runtime
from storage.users import SqlStaffAccounts
from tests.fakes import Clock

PASSWORDS = {"anna": "anna-password", "oleg": "oleg-password", "boss": "boss-password"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Staff:
    client: TestClient
    rt: Runtime
    clock: Clock


class Browser:
    """One visitor with a cookie jar of its own; closing it leaves the shared server up."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.session = ClientSession(cookie_jar=CookieJar(unsafe=True))

    def get(self, path: str, **kw: object):
        return self.session.get(self.server.make_url(path), **kw)

    def post(self, path: str, **kw: object):
        return self.session.post(self.server.make_url(path), **kw)

    async def close(self) -> None:
        await self.session.close()


@functools.cache
def hashed(login: str) -> str:
    """argon2 is slow on purpose; each test password is hashed once per run."""
    return hash_password(PASSWORDS[login])


async def add_staff(rt: Runtime, clock: Clock) -> dict[str, int]:
    accounts = SqlStaffAccounts(rt.sessions)
    ids = {}
    for login, role in (("anna", "specialist"), ("oleg", "specialist"), ("boss", "admin")):
        ids[login] = await accounts.create(login, login.capitalize(), role,
                                           hashed(login), clock())
    return ids


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, html[:500]
    return found.group(1)


async def log_in(c: TestClient, login: str, password: str | None = None,
                 next_url: str = "/desk/") -> ClientResponse:
    page = await c.get("/login")
    token = csrf_of(await page.text())
    return await c.post("/login", allow_redirects=False, data={
        "login": login, "password": password or PASSWORDS[login], "next": next_url,
        "csrf_token": token})


async def page_csrf(c: TestClient, path: str = "/desk/") -> str:
    page = await c.get(path)
    assert page.status == 200, await page.text()
    return csrf_of(await page.text())
