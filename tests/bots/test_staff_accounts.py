"""The admin's staff page and everyone's own password page over HTTP on a real database."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from bots.web.auth import AUTH
from bots.web.passwords import verify_password
from handlers.event_ports import ConversationEvent, EventKind
from priemnaya.runtime import Runtime, build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from storage.models import AuditEntry, Specialist
from storage.users import LastAdmin, SqlStaffAccounts
from tests.bots.staff import PASSWORDS, Browser, add_staff, log_in, page_csrf
from tests.fakes import Clock, FakeFaq, FakeNotifier

_PASSWORD = re.compile(r'<code id="password">([^<]+)</code>')


@dataclass
class Site:
    server: TestServer
    rt: Runtime
    ids: dict[str, int]
    browsers: list[Browser]

    async def signed_in(self, login: str, password: str | None = None) -> Browser:
        c = Browser(self.server)
        self.browsers.append(c)
        r = await log_in(c, login, password)
        assert r.status == 303, await r.text()
        return c

    def anonymous(self) -> Browser:
        c = Browser(self.server)
        self.browsers.append(c)
        return c


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Site]:
    clock = Clock()
    settings = Settings(database={"url": database_url}, queues=[
        {"id": "general", "title": "Общие вопросы", "members": ["anna", "maria", "ghost"]},
        {"id": "urgent", "title": "Срочные", "members": ["anna"]}])
    rt = build_runtime(settings, FakeFaq(), clock=clock)
    ids = await add_staff(rt, clock)
    server = TestServer(build_app(rt, start_background=False))
    await server.start_server()
    s = Site(server, rt, ids, [])
    yield s
    for c in s.browsers:
        await c.close()
    await server.close()
    await rt.engine.dispose()


async def post(c: Browser, path: str, page: str = "/admin/staff", **data: str):
    token = await page_csrf(c, page)
    if path.startswith("/admin/staff/") and path.endswith("/password"):
        # The «Новый пароль» form's own token, as the page rendered it.
        html = await (await c.get(page)).text()
        found = re.search(rf'action="{path}">.*?name="form_token" value="([^"]+)"', html, re.S)
        data = {"form_token": found.group(1) if found else "", **data}
    return await c.post(path, data={"csrf_token": token, **data}, allow_redirects=False)


def shown_password(html: str) -> str:
    found = _PASSWORD.search(html)
    assert found is not None, html[:800]
    return found.group(1)


async def account(site: Site, login: str) -> Specialist | None:
    async with site.rt.sessions() as s:
        found: Specialist | None = await s.scalar(
            select(Specialist).where(Specialist.login == login))
        return found


async def audit_rows(site: Site) -> list[AuditEntry]:
    async with site.rt.sessions() as s:
        return list((await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all())


async def signed_in_still(c: Browser) -> bool:
    r = await c.get("/desk/", allow_redirects=False)
    assert r.status in (200, 303)
    return r.status == 200


async def test_the_page_lists_accounts_with_roles_state_and_queues(site: Site) -> None:
    boss = await site.signed_in("boss")
    await SqlStaffAccounts(site.rt.sessions).set_active("oleg", False)
    html = await (await boss.get("/admin/staff")).text()
    anna = html.split(f'id="staff-{site.ids["anna"]}"')[1].split("</tr>")[0]
    assert "Anna" in anna and "Специалист" in anna and "включена" in anna
    assert "нет записи" in anna  # never signed in
    assert "Общие вопросы, Срочные" in anna
    oleg = html.split(f'id="staff-{site.ids["oleg"]}"')[1].split("</tr>")[0]
    assert "отключена" in oleg and "Включить" in oleg
    boss_row = html.split(f'id="staff-{site.ids["boss"]}"')[1].split("</tr>")[0]
    assert "Администратор" in boss_row and "(вы)" in boss_row
    assert "23.11.2026 15:00" in boss_row  # the sign-in above, in the institution's zone
    assert "Отключить" not in boss_row  # no button to lock oneself out
    assert "ghost" in html and "maria" in html  # queue members with no account are named
    assert '<a href="/admin/staff">Сотрудники</a>' in html


async def test_created_account_signs_in_with_the_password_shown_once(site: Site) -> None:
    boss = await site.signed_in("boss")
    r = await post(boss, "/admin/staff", login="maria", name="Мария Ивановна",
                   role="specialist")
    assert r.status == 200
    assert r.headers["Cache-Control"] == "no-store"
    html = await r.text()
    password = shown_password(html)
    assert len(password) >= 12 and "показан один раз" in html
    # Named as the page and the menu name it, not «Сменить пароль» that neither shows.
    assert "на странице «Смена пароля» (пункт «Пароль» в меню)" in html
    assert ">Пароль</a>" in html and "«Сменить пароль»" not in html
    assert "<h1>Смена пароля</h1>" in await (await boss.get("/account/password")).text()
    maria = await site.signed_in("maria", password)
    assert await signed_in_still(maria)
    assert (await maria.get("/admin/staff")).status == 403  # a specialist, as chosen
    listed = await (await boss.get("/admin/staff")).text()
    maria_id = (await account(site, "maria")).id
    row = listed.split(f'id="staff-{maria_id}"')[1]
    assert "Мария Ивановна" in row.split("</tr>")[0]
    assert "Общие вопросы" in row.split("</tr>")[0]  # a member of the queue per settings


async def test_created_admin_reaches_the_admin_pages(site: Site) -> None:
    boss = await site.signed_in("boss")
    r = await post(boss, "/admin/staff", login="chief", name="", role="admin")
    chief = await site.signed_in("chief", shown_password(await r.text()))
    assert (await chief.get("/admin/staff")).status == 200
    assert (await account(site, "chief")).display_name == "chief"


@pytest.mark.parametrize(("login", "name", "role", "message"), [
    ("", "", "specialist", "от 3 до 64 символов"),
    ("an", "", "specialist", "от 3 до 64 символов"),
    ("a" * 65, "", "specialist", "от 3 до 64 символов"),
    ("анна", "", "specialist", "латинские буквы"),
    ("anna petrovna", "", "specialist", "латинские буквы"),
    ("<script>", "", "specialist", "латинские буквы"),
    ("maria", "Я" * 201, "specialist", "не длиннее 200 символов (сейчас 201)"),
    ("maria", "Я" * 5000, "specialist", "не длиннее 200 символов (сейчас 5000)"),
    ("maria", "Мария\nИвановна", "specialist", "одна строка"),
    ("maria", "Мария\x00", "specialist", "одна строка"),
    ("maria", "", "root", "Выберите роль"),
])
async def test_bad_login_name_or_role_is_refused_with_a_message(
        site: Site, login: str, name: str, role: str, message: str) -> None:
    boss = await site.signed_in("boss")
    r = await post(boss, "/admin/staff", login=login, name=name, role=role)
    assert r.status == 400
    html = await r.text()
    assert message in html
    assert "<script>" not in html.split('id="form-error"')[1].split("</form>")[0]
    assert await account(site, login.strip()) is None
    assert not [a for a in await audit_rows(site) if a.action == "staff_create"]


async def test_duplicate_login_is_a_clear_message_not_an_error(site: Site) -> None:
    boss = await site.signed_in("boss")
    r = await post(boss, "/admin/staff", login="anna", name="Другая Анна", role="admin")
    assert r.status == 409
    assert "Логин «anna» уже занят" in await r.text()
    assert (await account(site, "anna")).role == "specialist"
    r = await post(boss, "/admin/staff", login="ANNA", name="Другая Анна", role="admin")
    assert r.status == 409 and await account(site, "ANNA") is None  # one person, one login


async def test_a_login_signs_in_in_any_case(site: Site) -> None:
    assert (await log_in(site.anonymous(), "Anna", PASSWORDS["anna"])).status == 303


async def test_longest_allowed_login_and_a_name_with_markup_are_stored_as_typed(
        site: Site) -> None:
    boss = await site.signed_in("boss")
    login = "a.b_c-" + "x" * 58
    r = await post(boss, "/admin/staff", login=login, name="<b>Мария</b> 😀",
                   role="specialist")
    assert r.status == 200
    assert (await account(site, login)).display_name == "<b>Мария</b> 😀"
    listed = await (await boss.get("/admin/staff")).text()
    assert "&lt;b&gt;Мария&lt;/b&gt; 😀" in listed and "<b>Мария</b>" not in listed


async def test_reset_ends_the_old_password_and_sessions(site: Site) -> None:
    anna = await site.signed_in("anna")
    boss = await site.signed_in("boss")
    r = await post(boss, f"/admin/staff/{site.ids['anna']}/password")
    assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
    password = shown_password(await r.text())
    assert not await signed_in_still(anna)
    assert (await log_in(site.anonymous(), "anna")).status == 401  # the old password
    assert await signed_in_still(await site.signed_in("anna", password))
    assert await signed_in_still(boss)


async def test_a_refreshed_password_page_sets_no_other_password(site: Site) -> None:
    """The form's token is checked against the stored password, not a process's memory, so
    the form posted again to another replica is told apart too."""
    import analytics.web.staff as staff

    boss = await site.signed_in("boss")
    page = await (await boss.get("/admin/staff")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = re.search(rf'action="/admin/staff/{site.ids["anna"]}/password">.*?'
                     r'name="form_token" value="([^"]+)"', page, re.S).group(1)
    path = f"/admin/staff/{site.ids['anna']}/password"
    first = await boss.post(path, data={"csrf_token": token, "form_token": form},
                            allow_redirects=False)
    password = shown_password(await first.text())
    assert not any(isinstance(v, dict) and form in v for v in vars(staff).values())
    again = await boss.post(path, data={"csrf_token": token, "form_token": form},
                            allow_redirects=False)  # F5 on the page that showed it
    assert again.status == 303 and "error=repeated" in again.headers["Location"]
    shown = await (await boss.get(again.headers["Location"])).text()
    assert "уже задан и был показан один раз" in shown
    assert await signed_in_still(await site.signed_in("anna", password))


async def test_an_admin_resets_their_own_password_only_on_the_own_page(site: Site) -> None:
    boss = await site.signed_in("boss")
    r = await post(boss, f"/admin/staff/{site.ids['boss']}/password")
    assert (r.status, r.headers["Location"]) == (303, "/admin/staff?error=own_password")
    assert await signed_in_still(boss)
    stored = (await account(site, "boss")).password_hash
    assert await verify_password(stored, PASSWORDS["boss"])


async def test_disabled_account_cannot_sign_in_until_enabled(site: Site) -> None:
    anna = await site.signed_in("anna")
    boss = await site.signed_in("boss")
    r = await post(boss, f"/admin/staff/{site.ids['anna']}/disable")
    assert r.status == 303
    page = await (await boss.get(r.headers["Location"])).text()
    assert "Учётная запись «anna» отключена" in page
    assert not await signed_in_still(anna)
    assert (await log_in(site.anonymous(), "anna")).status == 401
    r = await post(boss, f"/admin/staff/{site.ids['anna']}/enable")
    assert "снова включена" in await (await boss.get(r.headers["Location"])).text()
    assert (await log_in(site.anonymous(), "anna")).status == 303


async def test_disabling_puts_the_accounts_conversations_back_in_the_queue(
        site: Site) -> None:
    from storage.models import Conversation
    from tests.bots.test_desk import waiting_conversation

    conv = await waiting_conversation(site.rt)
    other = FakeNotifier()  # another replica's desk pages, as the Redis event bus feeds them
    site.rt.notifier.add(other)
    anna, boss = await site.signed_in("anna"), await site.signed_in("boss")
    r = await post(anna, f"/desk/c/{conv}/take", page="/desk/")
    assert r.headers["Location"].endswith("done=taken")
    with site.rt.desk_hub.subscribe() as own_pages:
        r = await post(boss, f"/admin/staff/{site.ids['anna']}/disable")
        assert own_pages.get_nowait() == ConversationEvent(EventKind.RELEASED, conv)
    assert other.events[-1] == ConversationEvent(EventKind.RELEASED, conv)
    page = await (await boss.get(r.headers["Location"])).text()
    assert "возвращено в очередь: 1" in page
    async with site.rt.sessions() as s:
        row = await s.get_one(Conversation, conv)
    assert (row.assigned_to, row.state) == (None, "waiting_specialist")
    async with site.rt.sessions() as s:
        details = await s.scalar(select(AuditEntry.details).where(
            AuditEntry.action == "staff_disable"))
    assert details == "сеансы завершены, обращений возвращено в очередь: 1"


async def test_an_admin_renames_and_promotes_an_account(site: Site) -> None:
    anna, boss = await site.signed_in("anna"), await site.signed_in("boss")
    r = await post(boss, f"/admin/staff/{site.ids['anna']}/profile",
                   name="Анна Смирнова", role="admin")
    page = await (await boss.get(r.headers["Location"])).text()
    assert "Имя и роль учётной записи «anna» сохранены" in page
    row = await account(site, "anna")
    assert (row.display_name, row.role) == ("Анна Смирнова", "admin")
    assert not await signed_in_still(anna)  # the session carried the old role
    details = [a.details for a in await audit_rows(site) if a.action == "staff_profile"]
    assert details == ["имя изменено; роль: Администратор"]
    r = await post(boss, f"/admin/staff/{site.ids['anna']}/profile", name="Анна\nСмирнова",
                   role="admin")
    assert "error=name_lines" in r.headers["Location"]
    r = await post(boss, f"/admin/staff/{site.ids['boss']}/profile", name="Босс",
                   role="specialist")
    assert "error=self_role" in r.headers["Location"]
    assert (await account(site, "boss")).role == "admin"
    r = await post(boss, f"/admin/staff/{site.ids['boss']}/profile", name="Начальник",
                   role="admin")
    assert (await account(site, "boss")).display_name == "Начальник"
    assert await signed_in_still(boss)  # the same role: the session stays


async def test_an_admin_cannot_disable_themselves(site: Site) -> None:
    boss = await site.signed_in("boss")
    r = await post(boss, f"/admin/staff/{site.ids['boss']}/disable")
    assert r.headers["Location"].startswith("/admin/staff?error=self")
    assert "Свою учётную запись отключить нельзя" in await (
        await boss.get(r.headers["Location"])).text()
    assert (await account(site, "boss")).active is True
    assert await signed_in_still(boss)


async def test_the_last_enabled_admin_is_not_disabled(site: Site) -> None:
    """Through the page an admin can only disable someone else, so one enabled admin always
    remains; this is the guard under it, for two admins disabling each other at once."""
    registry = site.server.app[AUTH].registry()
    boss = await registry.accounts.by_login("boss")
    with pytest.raises(LastAdmin):
        await registry.disable(boss)
    assert (await account(site, "boss")).active is True
    admin = await site.signed_in("boss")
    await post(admin, "/admin/staff", login="chief", role="admin")
    assert await registry.disable(boss)
    chief = await registry.accounts.by_login("chief")
    with pytest.raises(LastAdmin):
        await registry.disable(chief)


async def test_unknown_account_is_a_message_not_an_error(site: Site) -> None:
    boss = await site.signed_in("boss")
    for action in ("password", "disable", "enable"):
        r = await post(boss, f"/admin/staff/999999/{action}")
        assert (r.status, r.headers["Location"]) == (303, "/admin/staff?error=missing")


async def test_specialist_cannot_use_the_staff_page(site: Site) -> None:
    anna = await site.signed_in("anna")
    assert (await anna.get("/admin/staff")).status == 403
    r = await post(anna, "/admin/staff", page="/desk/", login="mallory", role="admin")
    assert r.status == 403
    r = await post(anna, f"/admin/staff/{site.ids['oleg']}/disable", page="/desk/")
    assert r.status == 403
    assert await account(site, "mallory") is None
    assert (await account(site, "oleg")).active is True
    anonymous = await site.anonymous().get("/admin/staff", allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"].startswith("/login")


async def test_forms_without_the_csrf_token_are_refused(site: Site) -> None:
    boss = await site.signed_in("boss")
    r = await boss.post("/admin/staff", data={"login": "maria", "role": "specialist"},
                        allow_redirects=False)
    assert r.status == 403 and "Действие отклонено" in await r.text()
    r = await boss.post(f"/admin/staff/{site.ids['anna']}/disable",
                        data={"csrf_token": "x" * 43}, allow_redirects=False)
    assert r.status == 403
    r = await boss.post("/account/password", data={
        "current": PASSWORDS["boss"], "new": "brand-new-password",
        "repeat": "brand-new-password"}, allow_redirects=False)
    assert r.status == 403
    assert await account(site, "maria") is None
    assert (await account(site, "anna")).active is True
    assert await verify_password((await account(site, "boss")).password_hash,
                                 PASSWORDS["boss"])


async def test_every_action_is_audited_and_no_password_is_written(site: Site) -> None:
    boss = await site.signed_in("boss")
    created = shown_password(await (await post(
        boss, "/admin/staff", login="maria", name="Мария", role="specialist")).text())
    maria_id = (await account(site, "maria")).id
    reset = shown_password(await (await post(boss, f"/admin/staff/{maria_id}/password")).text())
    await post(boss, f"/admin/staff/{maria_id}/disable")
    await post(boss, f"/admin/staff/{maria_id}/enable")
    rows = [a for a in await audit_rows(site) if a.action.startswith("staff_")]
    assert [(a.actor, a.action, a.object_type, a.object_id) for a in rows] == [
        ("boss", "staff_create", "staff", "maria"),
        ("boss", "staff_password_reset", "staff", "maria"),
        ("boss", "staff_disable", "staff", "maria"),
        ("boss", "staff_enable", "staff", "maria")]
    assert rows[0].details == "роль: Специалист"
    for a in await audit_rows(site):
        text = f"{a.actor} {a.action} {a.object_type} {a.object_id} {a.details}"
        assert created not in text and reset not in text
    page = await (await boss.get("/admin/audit")).text()
    assert "Создал(а) учётную запись" in page and "Задал(а) новый пароль" in page


async def change_password(c: Browser, current: str, new: str, repeat: str | None = None):
    return await post(c, "/account/password", page="/account/password", current=current,
                      new=new, repeat=new if repeat is None else repeat)


async def test_own_password_change_keeps_this_session_and_ends_the_others(site: Site) -> None:
    here, elsewhere = await site.signed_in("anna"), await site.signed_in("anna")
    page = await (await here.get("/desk/")).text()
    assert 'href="/account/password"' in page
    r = await change_password(here, PASSWORDS["anna"], "a new long password")
    assert (r.status, r.headers["Location"]) == (303, "/account/password?done=1")
    assert "Пароль изменён" in await (await here.get(r.headers["Location"])).text()
    assert await signed_in_still(here)
    assert not await signed_in_still(elsewhere)
    assert (await log_in(site.anonymous(), "anna")).status == 401
    assert await signed_in_still(await site.signed_in("anna", "a new long password"))
    rows = [(a.actor, a.action) for a in await audit_rows(site)]
    assert ("anna", "password_change") in rows
    assert all("a new long password" not in a.details for a in await audit_rows(site))


@pytest.mark.parametrize(("current", "new", "repeat", "message"), [
    ("not-the-password", "a new long password", None, "Текущий пароль введён неверно"),
    ("", "a new long password", None, "Текущий пароль введён неверно"),
    (PASSWORDS["anna"], "short", None, "не меньше 8 символов"),
    (PASSWORDS["anna"], "x" * 201, None, "не больше 200 символов"),
    (PASSWORDS["anna"], "a new long password", "a new long passwort", "не совпадают"),
    (PASSWORDS["anna"], PASSWORDS["anna"], None, "совпадает с текущим"),
    (PASSWORDS["anna"], " " * 8, None, "хотя бы три разных знака"),
    (PASSWORDS["anna"], "aaaaaaaaaa", None, "хотя бы три разных знака"),
])
async def test_own_password_change_refused_with_a_reason(
        site: Site, current: str, new: str, repeat: str | None, message: str) -> None:
    anna, elsewhere = await site.signed_in("anna"), await site.signed_in("anna")
    r = await change_password(anna, current, new, repeat)
    assert r.status == 400
    assert message in await r.text()
    stored = (await account(site, "anna")).password_hash
    assert await verify_password(stored, PASSWORDS["anna"])
    assert await signed_in_still(elsewhere)


async def test_wrong_current_passwords_are_audited_and_limited(site: Site) -> None:
    anna = await site.signed_in("anna")
    for _ in range(5):
        r = await change_password(anna, "guess-password", "a new long password")
        assert r.status == 400
    r = await change_password(anna, PASSWORDS["anna"], "a new long password")
    assert r.status == 429
    assert "Подождите 15 минут" in await r.text()
    assert await verify_password((await account(site, "anna")).password_hash,
                                 PASSWORDS["anna"])
    failed = [a for a in await audit_rows(site) if a.action == "password_change_failed"]
    assert len(failed) == 5 and all(a.actor == "anna" for a in failed)
    assert all("guess-password" not in a.details for a in failed)


async def test_the_own_password_page_needs_a_sign_in(site: Site) -> None:
    r = await site.anonymous().get("/account/password", allow_redirects=False)
    assert r.status == 303
    assert r.headers["Location"].startswith("/login?next=")


async def test_two_admins_disabling_each_other_at_once_leave_one_enabled(site: Site) -> None:
    registry = site.server.app[AUTH].registry()
    boss = await registry.accounts.by_login("boss")
    await registry.create("chief", "", "admin", site.rt.clock(), "chief-password")
    chief = await registry.accounts.by_login("chief")
    for _ in range(3):
        outcomes = await asyncio.gather(registry.disable(boss), registry.disable(chief),
                                        return_exceptions=True)
        assert sorted(type(o).__name__ for o in outcomes) == ["Disabled", "LastAdmin"]
        assert await registry.accounts.has_admin()
        await registry.enable(boss)
        await registry.enable(chief)
