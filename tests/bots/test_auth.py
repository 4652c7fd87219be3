"""Staff login, roles, CSRF, rate limiting and sessions through aiohttp's test client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from storage.models import AuditEntry, WebSession
from tests.bots.staff import Staff, add_staff, log_in
from tests.fakes import Clock, FakeFaq


async def build_staff(database_url: str, cookie_secure: bool = False) -> Staff:
    clock = Clock()
    settings = Settings(database={"url": database_url}, web={"cookie_secure": cookie_secure})
    rt = build_runtime(settings, FakeFaq(), clock=clock)
    await add_staff(rt, clock)
    return Staff(TestClient(TestServer(build_app(rt, start_background=False))), rt, clock)


@pytest.fixture
async def staff(database_url: str) -> AsyncIterator[Staff]:
    s = await build_staff(database_url)
    async with s.client:
        yield s
    await s.rt.engine.dispose()


async def audit_actions(s: Staff) -> list[tuple[str, str]]:
    async with s.rt.sessions() as db:
        rows = (await db.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    return [(r.actor, r.action) for r in rows]


async def test_login_with_the_right_password_opens_a_session(staff: Staff) -> None:
    c = staff.client
    r = await log_in(c, "boss", next_url="/admin/ping")
    assert r.status == 303
    assert r.headers["Location"] == "/admin/ping"
    ping = await c.get("/admin/ping")
    assert (ping.status, await ping.json()) == (200, {"ok": True})
    assert ("boss", "login") in await audit_actions(staff)


async def test_wrong_password_is_refused_and_audited(staff: Staff) -> None:
    c = staff.client
    r = await log_in(c, "boss", "not-the-password")
    assert r.status == 401
    assert "Неверный логин или пароль" in await r.text()
    assert "priemnaya_staff" not in r.cookies
    ping = await c.get("/admin/ping", allow_redirects=False)
    assert ping.status == 303
    assert await audit_actions(staff) == [("boss", "login_failed")]


async def test_unknown_login_looks_like_a_wrong_password(staff: Staff) -> None:
    r = await log_in(staff.client, "nobody", "whatever-password")
    assert r.status == 401
    assert "Неверный логин или пароль" in await r.text()


async def test_specialist_gets_403_on_admin_route(staff: Staff) -> None:
    c = staff.client
    assert (await log_in(c, "anna")).status == 303
    r = await c.get("/admin/ping")
    assert r.status == 403
    assert "Нет доступа" in await r.text()


async def test_anonymous_is_sent_to_login_and_back(staff: Staff) -> None:
    c = staff.client
    r = await c.get("/admin/ping?x=1", allow_redirects=False)
    assert r.status == 303
    assert r.headers["Location"].startswith("/login?next=")
    page = await c.get(r.headers["Location"])
    assert 'name="next" value="/admin/ping?x=1"' in await page.text()


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil"])
async def test_login_never_redirects_off_site(staff: Staff, target: str) -> None:
    r = await log_in(staff.client, "anna", next_url=target)
    assert r.headers["Location"] == "/desk/"


async def test_post_without_csrf_token_is_refused(staff: Staff) -> None:
    c = staff.client
    await log_in(c, "anna")
    r = await c.post("/logout", allow_redirects=False)
    assert r.status == 403
    assert "Действие отклонено" in await r.text()
    r = await c.post("/logout", data={"csrf_token": "x" * 43}, allow_redirects=False)
    assert r.status == 403
    await c.get("/login")  # still logged in: the login page sends a logged-in user on
    assert (await c.get("/admin/ping")).status == 403


async def test_login_form_without_its_token_is_refused(staff: Staff) -> None:
    r = await staff.client.post("/login", data={"login": "boss", "password": "boss-password"})
    assert r.status == 403
    assert "priemnaya_staff" not in r.cookies


async def test_sixth_attempt_is_429_until_fifteen_minutes_pass(staff: Staff) -> None:
    c = staff.client
    for _ in range(5):
        assert (await log_in(c, "boss", "wrong-password")).status == 401
    blocked = await log_in(c, "boss")
    assert blocked.status == 429
    assert "Слишком много неудачных попыток" in await blocked.text()
    staff.clock.advance(minutes=15, seconds=1)
    assert (await log_in(c, "boss")).status == 303


async def test_a_colleagues_typos_do_not_lock_the_office_out(staff: Staff) -> None:
    c = staff.client
    for _ in range(5):
        assert (await log_in(c, "boss", "wrong-password")).status == 401
    assert (await log_in(c, "anna")).status == 303  # same address, another login


async def test_failures_are_counted_per_client_address_too(staff: Staff) -> None:
    c = staff.client
    for n in range(30):
        assert (await log_in(c, f"guess{n}", "wrong-password")).status == 401
    assert (await log_in(c, "anna")).status == 429


async def test_cookie_flags(staff: Staff) -> None:
    r = await log_in(staff.client, "anna")
    cookie = r.cookies["priemnaya_staff"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["max-age"] == str(12 * 3600)
    assert cookie["path"] == "/"
    assert not cookie["secure"]


async def test_cookie_is_secure_when_configured(database_url: str) -> None:
    s = await build_staff(database_url, cookie_secure=True)
    async with s.client:
        page = await s.client.get("/login")
        assert page.cookies["priemnaya_login"]["secure"] is True
        assert page.cookies["priemnaya_login"]["samesite"] == "Strict"
    await s.rt.engine.dispose()


async def test_logout_ends_the_session(staff: Staff) -> None:
    c = staff.client
    await log_in(c, "boss")
    async with staff.rt.sessions() as db:
        session = await db.scalar(select(WebSession))
    r = await c.post("/logout", headers={"X-CSRF-Token": session.csrf_token},
                     allow_redirects=False)
    assert (r.status, r.headers["Location"]) == (303, "/login")
    assert (await c.get("/admin/ping", allow_redirects=False)).status == 303
    async with staff.rt.sessions() as db:
        assert await db.scalar(select(WebSession)) is None
    assert ("boss", "logout") in await audit_actions(staff)


async def test_session_slides_and_expires_after_twelve_idle_hours(staff: Staff) -> None:
    c = staff.client
    await log_in(c, "boss")
    for _ in range(3):
        staff.clock.advance(hours=11)
        assert (await c.get("/admin/ping")).status == 200
    staff.clock.advance(hours=12, seconds=1)
    assert (await c.get("/admin/ping", allow_redirects=False)).status == 303


async def test_link_from_another_site_reloads_to_send_the_strict_cookie(staff: Staff) -> None:
    c = staff.client
    await log_in(c, "boss")
    headers = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    c.session.cookie_jar.clear()  # as a browser would: Strict cookies stay home
    r = await c.get("/admin/ping", headers=headers, allow_redirects=False)
    assert r.status == 200
    assert "location.replace(location.href)" in await r.text()
    r = await c.get("/admin/ping", allow_redirects=False)
    assert r.status == 303  # without the cookie and not cross-site: the login page


async def test_login_limiter_is_shared_through_redis_when_configured(tmp_path) -> None:
    from aiohttp import web

    from bots.web.ratelimit import RedisLoginLimiter
    from priemnaya.webapp import build_login_limiter

    for url, kind in (("", type(None)), ("redis://127.0.0.1:6379/15", RedisLoginLimiter)):
        db = {"url": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
        rt = build_runtime(Settings(redis={"url": url}, database=db), FakeFaq())
        app = web.Application()
        before = len(app.on_cleanup)
        assert isinstance(build_login_limiter(app, rt), kind)
        assert len(app.on_cleanup) - before == (1 if url else 0)  # closes the client
        await rt.engine.dispose()


async def test_admin_pages_in_a_sub_application_are_protected(database_url: str) -> None:
    from aiohttp import web

    from bots.web.auth import Role, current_user, require

    @require(Role.ADMIN)
    async def report(request: web.Request) -> web.Response:
        return web.json_response({"login": current_user(request).login})

    s = await build_staff(database_url)
    admin = web.Application()
    admin.router.add_get("/report", report)
    s.client.server.app.add_subapp("/admin/reports", admin)
    async with s.client as c:
        await log_in(c, "anna")
        r = await c.get("/admin/reports/report")
        assert r.status == 403 and "Нет доступа" in await r.text()
        await c.post("/logout", headers={"X-CSRF-Token": await session_csrf(s)})
        await log_in(c, "boss")
        r = await c.get("/admin/reports/report")
        assert (r.status, await r.json()) == (200, {"login": "boss"})
    await s.rt.engine.dispose()


async def session_csrf(s: Staff) -> str:
    async with s.rt.sessions() as db:
        return (await db.scalar(select(WebSession))).csrf_token


async def test_disabled_account_is_refused_and_its_session_ends(staff: Staff) -> None:
    from storage.users import SqlStaffAccounts

    c = staff.client
    await log_in(c, "boss")
    assert (await c.get("/admin/ping")).status == 200
    await SqlStaffAccounts(staff.rt.sessions).set_active("boss", False)
    assert (await c.get("/admin/ping", allow_redirects=False)).status == 303
    assert (await log_in(c, "boss")).status == 401
