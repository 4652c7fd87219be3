"""A specialist in one browser page answers a client in another, through the real desk."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from priemnaya.runtime import Runtime, build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from storage.models import Specialist, WebSession
from tests.bots.staff import PASSWORDS, add_staff
from tests.bots.test_desk import waiting_conversation
from tests.fakes import Clock, FakeFaq


@pytest.fixture
async def served(tmp_path, sqlite_template) -> AsyncIterator[tuple[TestServer, Runtime]]:
    db = tmp_path / "desk.db"
    shutil.copy(sqlite_template, db)
    settings = Settings(database={"url": f"sqlite+aiosqlite:///{db}"},
                        outbox={"poll_interval_s": 0.05})
    rt = build_runtime(settings, FakeFaq())
    await add_staff(rt, Clock())
    async with TestServer(build_app(rt), host="127.0.0.1") as s:
        yield s, rt


@pytest.fixture
def server(served: tuple[TestServer, Runtime]) -> TestServer:
    return served[0]


async def logged_in(browser, server: TestServer, path: str):
    staff = await (await browser.new_context()).new_page()
    await staff.goto(str(server.make_url(path)))
    await staff.fill("#login", "anna")
    await staff.fill("#password", PASSWORDS["anna"])
    await staff.click("button[type=submit]")
    return staff


async def test_specialist_takes_and_answers_the_web_chat(browser, server: TestServer) -> None:
    staff = await (await browser.new_context()).new_page()
    await staff.goto(str(server.make_url("/desk/")))
    await staff.fill("#login", "anna")
    await staff.fill("#password", PASSWORDS["anna"])
    await staff.click("button[type=submit]")
    await staff.wait_for_selector("text=Открытых обращений нет.")

    client = await (await browser.new_context()).new_page()
    await client.goto(str(server.make_url("/")))
    await client.wait_for_selector(".msg.bot >> text=Здравствуйте")
    await client.fill("#text", "Нужна путёвка в санаторий")
    await client.click("#send")
    await client.locator(".msg.bot", has_text="не нашёл точного ответа").get_by_role(
        "button", name="Задать вопрос специалисту").click()
    await client.locator(".msg.bot", has_text="согласие").last.wait_for(timeout=10_000)
    await client.locator(".msg.bot").last.get_by_role(
        "button", name="Согласен(на)", exact=True).click()
    await client.locator(".msg.bot", has_text="передан специалисту").wait_for(timeout=10_000)

    # The list updates itself (Server-Sent Events), no reload.
    row = staff.locator("#live tbody tr")
    await row.wait_for(timeout=10_000)
    assert "ждёт специалиста" in await row.inner_text()
    await row.locator("a").first.click()
    await staff.wait_for_selector("text=Нужна путёвка в санаторий")
    await staff.click("#take")
    await staff.wait_for_selector("text=Вы взяли обращение в работу.")
    await staff.select_option("#canned", label="Приветствие")
    assert (await staff.input_value("#reply-text")).startswith("Здравствуйте! Меня зовут Anna")
    await staff.fill("#reply-text", "Путёвку в санаторий дают раз в год, приходите с паспортом.")
    await staff.click("#reply-send")
    await staff.wait_for_selector("text=Ответ отправлен клиенту.")

    answer = client.locator(".msg.specialist", has_text="Путёвку в санаторий дают раз в год")
    await answer.wait_for(timeout=10_000)
    # The client's next message reaches the open conversation page live.
    await client.fill("#text", "Спасибо, а какие документы?")
    await client.click("#send")
    await staff.locator(".msg.client", has_text="какие документы").wait_for(timeout=10_000)


async def test_link_from_another_site_opens_the_desk_logged_in(browser, server) -> None:
    context = await browser.new_context()
    staff = await context.new_page()
    await staff.goto(str(server.make_url("/login")))
    await staff.fill("#login", "anna")
    await staff.fill("#password", PASSWORDS["anna"])
    await staff.click("button[type=submit]")
    await staff.wait_for_selector("text=Открытых обращений нет.")
    elsewhere = await context.new_page()  # e.g. a link in a Telegram topic
    await elsewhere.set_content(f'<a id="go" href="{server.make_url("/desk/")}">обращения</a>')
    await elsewhere.click("#go")
    await elsewhere.wait_for_selector("text=Открытых обращений нет.", timeout=10_000)
    assert "/login" not in elsewhere.url


async def test_a_canned_reply_goes_in_at_the_cursor(browser, served) -> None:
    server, rt = served
    conv = await waiting_conversation(rt, name="Пётр")
    staff = await logged_in(browser, server, f"/desk/c/{conv}")
    await staff.fill("#reply-text", "Мой набранный текст")
    await staff.select_option("#canned", label="Приветствие")
    greeting = "Здравствуйте! Меня зовут Anna"  # not taken yet: no name (views.py)
    assert (await staff.input_value("#reply-text")).startswith(
        f"Мой набранный текст {greeting}")
    await staff.fill("#reply-text", "Подождите минуту.")
    await staff.eval_on_selector("#reply-text", "box => box.setSelectionRange(0, 0)")
    await staff.select_option("#canned", label="Приветствие")
    value = await staff.input_value("#reply-text")
    assert value.startswith(greeting) and value.endswith("вопросом. Подождите минуту.")
    await staff.fill("#reply-text", "")
    await staff.select_option("#canned", label="Приветствие")
    assert (await staff.input_value("#reply-text")).startswith(greeting)


async def test_a_reply_over_the_limit_is_kept_whole_and_held(browser, served) -> None:
    """A browser's maxlength cut a 4,500-character paste to 4,000 silently, and sent that."""
    server, rt = served
    conv = await waiting_conversation(rt, name="Пётр")
    staff = await logged_in(browser, server, f"/desk/c/{conv}")
    await staff.fill("#reply-text", "а" * 4500)
    assert len(await staff.input_value("#reply-text")) == 4500
    assert await staff.inner_text("#reply-text-count") == (
        "Слишком длинно: 4500 знаков из 4000. Сократите текст или разделите его на два "
        "сообщения.")
    assert await staff.is_disabled("#reply-send")
    await staff.fill("#reply-text", "а" * 3700)
    assert await staff.inner_text("#reply-text-count") == "3700 знаков из 4000"
    assert not await staff.is_disabled("#reply-send")
    await staff.fill("#reply-text", "Коротко.")
    assert not await staff.is_visible("#reply-text-count")


async def test_a_second_click_on_send_posts_nothing_more(browser, served) -> None:
    server, rt = served
    conv = await waiting_conversation(rt, name="Пётр")
    staff = await logged_in(browser, server, f"/desk/c/{conv}")
    posts: list[str] = []
    answered = asyncio.Event()

    async def hold(route) -> None:  # a slow server: the first post is still on its way
        posts.append(route.request.url)
        await answered.wait()
        await route.continue_()

    await staff.route("**/reply", hold)
    await staff.fill("#reply-text", "Путёвку дают раз в год.")
    # Two clicks 200 ms apart, scripted: the page is busy navigating for the second.
    await staff.evaluate("""() => { const send = document.getElementById("reply-send");
        send.click(); setTimeout(() => send.click(), 200); }""")
    await asyncio.sleep(0.6)
    assert len(posts) == 1
    answered.set()
    await staff.wait_for_selector("text=Ответ отправлен клиенту.")


async def test_a_reply_typed_as_the_session_ended_survives_signing_in(browser, served) -> None:
    """It was lost behind «Действие отклонено… Форма устарела», with no way to sign in."""
    server, rt = served
    conv = await waiting_conversation(rt, name="Пётр")
    staff = await logged_in(browser, server, f"/desk/c/{conv}")
    typed = "Путёвку дают раз в год.\nПриходите с паспортом."
    await staff.fill("#reply-text", typed)
    async with rt.sessions() as s:
        await s.execute(update(WebSession).values(expires_at=datetime(2020, 1, 1, tzinfo=UTC)))
        await s.commit()
    await staff.click("#reply-send")
    ended = staff.locator("#session-ended")
    await ended.wait_for()
    assert "Сеанс работы закончился" in await ended.inner_text()
    assert "Действие отклонено" not in await staff.content()
    await staff.fill("#password", PASSWORDS["anna"])
    await staff.fill("#login", "anna")
    await staff.click("button[type=submit]")
    await staff.wait_for_url(f"**/desk/c/{conv}")
    assert await staff.input_value("#reply-text") == typed
    await staff.click("#reply-send")
    await staff.wait_for_selector("text=Ответ отправлен клиенту.")
    assert await staff.input_value("#reply-text") == ""  # sent: the draft is gone
    await staff.reload()
    assert await staff.input_value("#reply-text") == ""


async def test_a_refused_reply_comes_back_in_the_box_until_sign_out(browser, served) -> None:
    server, rt = served
    conv = await waiting_conversation(rt, name="Пётр")
    staff = await logged_in(browser, server, f"/desk/c/{conv}")
    await staff.fill("#reply-text", "Мой ответ клиенту")
    await staff.fill("#note-text", "Моя заметка")
    async with rt.sessions() as s:
        oleg = await s.scalar(select(Specialist.id).where(Specialist.login == "oleg"))
    assert await rt.desk.take(conv, oleg)  # a colleague takes it meanwhile
    await staff.click("#reply-send")
    await staff.wait_for_selector("text=Обращение в работе у другого специалиста.")
    assert not await staff.locator("#reply-text").count()  # no longer hers to answer
    assert await staff.input_value("#unsent-text") == "Мой ответ клиенту\n\nМоя заметка"
    await rt.desk.release(conv, by=oleg)  # back in the queue: her texts go back in the boxes
    await staff.goto(str(server.make_url(f"/desk/c/{conv}")))
    assert await staff.input_value("#reply-text") == "Мой ответ клиенту"
    assert await staff.input_value("#note-text") == "Моя заметка"
    assert not await staff.is_visible("#unsent")
    await staff.click("text=Выход")
    await staff.wait_for_selector("#login")
    kept = await staff.evaluate("Object.keys(sessionStorage)")
    assert not [k for k in kept if k.startswith("desk-draft:")]


LINES_OF = """cell => { const range = document.createRange(); range.selectNodeContents(cell);
    return new Set([...range.getClientRects()].map(r => Math.round(r.top))).size; }"""


async def test_the_list_keeps_words_whole_and_scrolls_in_its_box(browser, served) -> None:
    server, rt = served
    await waiting_conversation(rt, name="Константинопольская Мария-Александра Владимировна")
    staff = await logged_in(browser, server, "/desk/")
    await staff.wait_for_selector("#live tbody tr")
    for width in (1300, 700):
        await staff.set_viewport_size({"width": width, "height": 900})
        for cell in await staff.query_selector_all("#live th, #live td.short"):
            assert await cell.evaluate(LINES_OF) == 1, (width, await cell.inner_text())
        page_width = await staff.evaluate("document.documentElement.scrollWidth")
        assert page_width <= width  # the table's box scrolls, not the page
    scrolls = "b => [b, b.querySelector('table')].some(e => e.scrollWidth > e.clientWidth)"
    assert await staff.locator(".table-box").evaluate(scrolls)


WIDER_THAN_SCREEN = """() => [...document.querySelectorAll("body *")]
    .filter(e => e.getBoundingClientRect().right > 361 && !e.closest("table, .table-box"))
    .slice(0, 4).map(e => e.tagName + "#" + e.id + "." + e.className)"""


async def test_desk_and_admin_pages_fit_a_phone(browser, served) -> None:
    """At 360 px every control is on the page: nothing wider than the screen but tables,
    which scroll in their own box."""
    server, rt = served
    conv = await waiting_conversation(rt, name="Константинопольская Мария-Александра")
    async with rt.sessions() as s:
        boss = await s.scalar(select(Specialist).where(Specialist.login == "boss"))
        boss.display_name = "Очень-очень длинное имя специалиста " * 5
        await s.commit()
    staff = await (await browser.new_context(viewport={"width": 360, "height": 640})).new_page()
    await staff.goto(str(server.make_url("/login?next=/admin/")))
    await staff.fill("#login", "boss")
    await staff.fill("#password", PASSWORDS["boss"])
    await staff.click("button[type=submit]")
    for path in (f"/desk/c/{conv}", "/desk/", "/admin/", "/admin/log", "/admin/gaps",
                 "/admin/export", "/admin/staff", "/admin/audit"):
        await staff.goto(str(server.make_url(path)))
        width = await staff.evaluate("document.documentElement.scrollWidth")
        wide = await staff.evaluate(WIDER_THAN_SCREEN)
        assert width <= 360, (path, width, wide)


async def test_on_a_phone_each_conversation_is_a_card_with_every_field(browser, served) -> None:
    """At 360 px «Состояние», «Ждёт» and «До срока ответа» were off-screen, with no hint."""
    server, rt = served
    await waiting_conversation(rt, name="Константинопольская Мария-Александра Владимировна")
    staff = await logged_in(browser, server, "/desk/")
    await staff.set_viewport_size({"width": 360, "height": 640})
    await staff.wait_for_selector("#live tbody tr")
    cells = await staff.evaluate("""() => [...document.querySelectorAll('#live tbody td')]
        .map(td => [getComputedStyle(td, '::before').content, td.getBoundingClientRect().left,
                    td.getBoundingClientRect().right])""")
    labels = [label for label, _, _ in cells]
    for name in ("Состояние", "Ждёт", "До срока ответа"):
        assert f'"{name}: "' in labels, labels
    assert all(left >= 0 and right <= 360 for _, left, right in cells), cells
    assert await staff.evaluate("document.documentElement.scrollWidth") <= 360
