"""Open the web chat in a real browser, ask a question and see the answer."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler, Middleware

from faq.model import Candidate, Decision, Entry, KnowledgeBase, MatchResult
from handlers.faq_ports import Faq
from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from tests.fakes import KB, FakeFaq

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page


@asynccontextmanager
async def serve(tmp_path: Path, sqlite_template: Path, faq: Faq | None = None,
                *middlewares: Middleware, institution: str = "") -> AsyncIterator[TestServer]:
    db = tmp_path / "chat.db"
    shutil.copy(sqlite_template, db)
    settings = Settings(database={"url": f"sqlite+aiosqlite:///{db}"},
                        outbox={"poll_interval_s": 0.05}, institution={"name": institution})
    app = build_app(build_runtime(settings, faq or FakeFaq()))
    app.middlewares.extend(middlewares)
    async with TestServer(app, host="127.0.0.1") as s:
        yield s


@pytest.fixture
async def server(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[TestServer]:
    async with serve(tmp_path, sqlite_template) as s:
        yield s


@web.middleware
async def slow_polls(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A slow mobile line: each poll takes longer than the page's 1.5 s between polls."""
    if request.path == "/api/chat/messages":
        await asyncio.sleep(2)
    return await handler(request)


@pytest.fixture
async def slow_server(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[TestServer]:
    async with serve(tmp_path, sqlite_template, None, slow_polls) as s:
        yield s


async def test_ask_and_see_the_answer(browser, server: TestServer) -> None:
    page = await browser.new_page()
    await page.goto(str(server.make_url("/")))
    await page.wait_for_selector(".msg.bot >> text=Здравствуйте")
    # Opening the chat pressed an invisible «start»: no empty «…» bubble precedes the greeting.
    assert await page.locator(".msg.client").count() == 0
    answer = await ask(page, "Как оформить единое пособие?", "Единое пособие оформляют")
    assert await page.locator(".msg.client").last.inner_text() == "Как оформить единое пособие?"
    await answer.get_by_role("button", name="Задать вопрос специалисту").click()
    await page.locator(".msg.bot", has_text="согласие").last.wait_for(timeout=10_000)
    await page.locator(".msg.bot").last.get_by_role(
        "button", name="Согласен(на)", exact=True).click()
    await page.locator(".msg.bot", has_text="передан специалисту").wait_for(timeout=10_000)
    # A pressed button shows as the client's own message, with its label.
    pressed = [t.strip() for t in await page.locator(".msg.client").all_inner_texts()]
    assert pressed[-2:] == ["Задать вопрос специалисту", "Согласен(на)"]


async def ask(page: Page, question: str, reply: str) -> Locator:
    """Type a question, send it and wait for the bot's message holding `reply`."""
    await page.fill("#text", question)
    await page.click("#send")
    answer = page.locator(".msg.bot", has_text=reply)
    await answer.wait_for(timeout=10_000)
    return answer


async def open_chat(browser, server: TestServer):
    page = await browser.new_page()
    await page.goto(str(server.make_url("/")))
    await page.wait_for_selector(".msg.bot >> text=Здравствуйте")
    return page


async def test_long_paste_is_kept_whole_and_a_refusal_keeps_the_text(
        browser, server: TestServer) -> None:
    page = await open_chat(browser, server)
    await page.focus("#text")
    await page.keyboard.insert_text("я" * 10_000)  # as a paste: maxlength would cut it
    assert len(await page.input_value("#text")) == 10_000
    assert "лишних знаков — 6000" in await page.inner_text("#counter")
    await page.click("#send")
    await page.wait_for_selector("#error >> text=слишком длинное: 10000 знаков")
    assert await page.input_value("#text") == "я" * 10_000
    await page.fill("#text", "я" * 4001)
    await page.click("#send")
    await page.wait_for_selector("#error >> text=слишком длинное: 4001 знак,")
    assert await page.input_value("#text") == "я" * 4001


async def test_a_failed_send_keeps_the_text_and_a_retry_sends_it(
        browser, server: TestServer) -> None:
    page = await open_chat(browser, server)

    async def server_error(route) -> None:
        await route.fulfill(status=500, content_type="text/html", body="<h1>Server Error</h1>")

    await page.route("**/api/chat/send", server_error)
    await page.fill("#text", "Как оформить единое пособие?")
    await page.click("#send")
    await page.wait_for_selector("#error >> text=Ваш текст остался в поле ввода")
    assert await page.input_value("#text") == "Как оформить единое пособие?"
    await page.unroute("**/api/chat/send")
    await page.click("#send")
    await page.locator(".msg.bot", has_text="Единое пособие оформляют").wait_for(timeout=10_000)
    assert await page.input_value("#text") == ""
    assert await page.inner_text("#error") == ""


async def test_forgetting_shows_the_confirmation_and_clears_the_conversation(
        browser, server: TestServer) -> None:
    page = await open_chat(browser, server)
    await ask(page, "Как оформить единое пособие?", "Единое пособие оформляют")
    await page.fill("#text", "/forget")
    await page.click("#send")
    await page.get_by_role("button", name="Да, удалить мои данные").click()
    await page.locator(".msg", has_text="Ваши данные удалены").wait_for(timeout=10_000)
    await page.wait_for_timeout(2000)  # two polls: nothing old comes back
    assert await page.locator(".msg").count() == 1


async def test_erasure_in_one_tab_clears_the_other(browser, server: TestServer) -> None:
    context = await browser.new_context()  # two tabs of one browser share its cookie
    first = await context.new_page()
    await first.goto(str(server.make_url("/")))
    await first.wait_for_selector(".msg.bot >> text=Здравствуйте")
    await first.fill("#text", "Как оформить единое пособие?")
    await first.click("#send")
    await first.locator(".msg.bot", has_text="Единое пособие оформляют").wait_for(timeout=10_000)
    second = await context.new_page()
    await second.goto(str(server.make_url("/")))
    await second.locator(".msg.bot", has_text="Единое пособие оформляют").wait_for(
        timeout=10_000)
    await first.fill("#text", "удалите мои данные")
    await first.click("#send")
    await first.get_by_role("button", name="Да, удалить мои данные").click()
    await first.locator(".msg", has_text="Ваши данные удалены").wait_for(timeout=10_000)
    await second.locator(".msg", has_text="данные удалены в другой вкладке").wait_for(
        timeout=10_000)
    assert "Единое пособие" not in await second.inner_text("#log")
    await first.wait_for_timeout(2000)  # the erasing tab keeps its confirmation
    assert await first.locator(".msg", has_text="Ваши данные удалены").count() == 1
    await context.close()


async def shown_ids(page) -> list[str]:
    return await page.locator(".msg").evaluate_all("els => els.map(e => e.dataset.id)")


async def test_a_slow_line_shows_every_message_once(browser, slow_server: TestServer) -> None:
    page = await open_chat(browser, slow_server)
    await page.fill("#text", "Как оформить единое пособие?")
    await page.click("#send")
    await page.locator(".msg.bot", has_text="Единое пособие оформляют").first.wait_for(
        timeout=15_000)
    await page.wait_for_timeout(4500)  # polls overlapping the send and each other
    ids = await shown_ids(page)
    assert len(ids) == len(set(ids)), ids
    assert await page.locator(".msg.client", has_text="единое пособие").count() == 1
    assert await page.locator(".msg.bot", has_text="Единое пособие оформляют").count() == 1


def stored_presses(tmp_path: Path, action: str) -> int:
    with closing(sqlite3.connect(tmp_path / "chat.db")) as db:
        [[n]] = db.execute("SELECT count(*) FROM messages WHERE author = 'client' AND action = ?",
                           (action,)).fetchall()
    return int(n)


async def test_a_double_click_on_a_button_presses_it_once(
        browser, server: TestServer, tmp_path: Path) -> None:
    page = await open_chat(browser, server)
    answer = await ask(page, "Как оформить единое пособие?", "Единое пособие оформляют")

    async def slow_send(route) -> None:
        await asyncio.sleep(1)
        await route.continue_()

    await page.route("**/api/chat/send", slow_send)
    menu = answer.get_by_role("button", name="Главное меню")
    await menu.dblclick()
    assert await menu.is_disabled()
    assert await answer.get_by_role("button", name="Задать вопрос специалисту").is_disabled()
    await page.locator(".msg.bot", has_text="Выберите тему").first.wait_for(timeout=10_000)
    await page.wait_for_timeout(2000)  # a second press, if sent, is answered by now
    assert stored_presses(tmp_path, "menu") == 1
    assert await page.locator(".msg.client", has_text="Главное меню").count() == 1
    assert await page.locator(".msg.bot", has_text="Выберите тему").count() == 1
    assert await menu.is_enabled()  # answered: the buttons work again


async def test_a_press_that_failed_frees_its_buttons_and_is_resent_as_the_same_press(
        browser, server: TestServer, tmp_path: Path) -> None:
    page = await open_chat(browser, server)
    answer = await ask(page, "Как оформить единое пособие?", "Единое пособие оформляют")
    ids: list[str] = []

    async def server_error(route) -> None:
        ids.append(json.loads(route.request.post_data)["id"])
        await route.fulfill(status=500, content_type="text/html", body="<h1>Server Error</h1>")

    await page.route("**/api/chat/send", server_error)
    menu = answer.get_by_role("button", name="Главное меню")
    await menu.click()
    await page.wait_for_selector("#error >> text=Сообщение не отправлено")
    assert await menu.is_enabled()
    await page.unroute("**/api/chat/send")
    page.on("request", lambda r: r.url.endswith("/api/chat/send") and ids.append(
        json.loads(r.post_data)["id"]))
    await menu.click()
    await page.locator(".msg.bot", has_text="Выберите тему").wait_for(timeout=10_000)
    assert len(ids) == 2
    assert ids[0] == ids[1]
    assert stored_presses(tmp_path, "menu") == 1


def stored_texts(tmp_path: Path, text: str) -> int:
    with closing(sqlite3.connect(tmp_path / "chat.db")) as db:
        [[n]] = db.execute("SELECT count(*) FROM messages WHERE author = 'client' AND text = ?",
                           (text,)).fetchall()
    return int(n)


async def test_a_lost_connection_is_waited_out_and_the_message_is_sent_once(
        browser, server: TestServer, tmp_path: Path) -> None:
    page = await open_chat(browser, server)
    question = "Как оформить единое пособие?"
    ids: list[str] = []

    async def lost(route) -> None:
        if route.request.method == "POST":
            ids.append(json.loads(route.request.post_data)["id"])
            if len(ids) == 1:  # the server got it, the answer was lost on the way back
                await route.fetch()
            elif len(ids) == 2:  # a proxy in front of the restarting server
                await route.fulfill(status=502, content_type="text/html", body="Bad Gateway")
                return
        elif len(ids) % 2:
            await route.fulfill(status=503, content_type="text/html", body="Unavailable")
            return
        await route.abort("connectionrefused")

    await page.route("**/api/chat/**", lost)
    await page.fill("#text", question)
    await page.click("#send")
    pending = page.locator(".msg.client.pending", has_text=question)
    await pending.locator("text=Отправляется…").wait_for(timeout=5_000)
    assert await page.get_attribute("#send", "aria-disabled") == "true"
    await page.wait_for_selector("#net >> text=Нет связи", timeout=10_000)
    await page.wait_for_timeout(12_000)  # longer than the old 5 tries 2 s apart
    assert await page.inner_text("#error") == ""
    assert len(ids) >= 4
    await page.unroute("**/api/chat/**")
    await page.locator(".msg.bot", has_text="Единое пособие оформляют").wait_for(timeout=10_000)
    assert await page.inner_text("#net") == ""
    assert await page.input_value("#text") == ""
    assert await pending.count() == 0
    assert await page.locator(".msg.client", has_text=question).count() == 1
    assert len(set(ids)) == 1
    assert stored_texts(tmp_path, question) == 1


async def test_lost_polls_are_said_calmly_and_the_notice_goes_when_they_work(
        browser, server: TestServer) -> None:
    page = await open_chat(browser, server)

    async def lost(route) -> None:
        await route.abort("connectionrefused")

    await page.route("**/api/chat/messages*", lost)
    await page.wait_for_selector("#net >> text=Нет связи с сервером", timeout=10_000)
    assert await page.inner_text("#error") == ""
    await page.unroute("**/api/chat/messages*")
    await page.wait_for_function("document.getElementById('net').textContent === ''",
                                 timeout=5_000)


LINKED = ("Запишитесь на https://example.org/zapis. Карта (https://example.org/map), "
          "справка: https://ru.wikipedia.org/wiki/Пособие_(значения)!\n"
          "Не ссылки: javascript:alert(1) <b>жирный</b> <img src=x onerror=alert(2)> "
          "<a href=\"javascript:alert(3)\">нажми</a>")


class OneAnswerFaq(FakeFaq):
    """Answers every question with one entry's text."""

    def __init__(self, question: str, answer: str) -> None:
        self.kb = KnowledgeBase(KB.categories, (Entry("one", "family", question, answer),),
                                institution=KB.institution)

    def match(self, text: str) -> MatchResult:
        return MatchResult(Decision.ANSWER, (Candidate("one", 1.0),))


async def test_addresses_in_a_reply_are_links_and_nothing_else_is(
        browser, tmp_path: Path, sqlite_template: Path) -> None:
    async with serve(tmp_path, sqlite_template, OneAnswerFaq("Где записаться?", LINKED)) as server:
        page = await open_chat(browser, server)
        answer = await ask(page, "Где записаться?", "Запишитесь на")
        links = await answer.locator("a").evaluate_all(
            "els => els.map(a => [a.getAttribute('href'), a.target, a.rel, a.textContent])")
        text = await answer.inner_text()
    rel = "noopener noreferrer"
    assert links == [
        ["https://example.org/zapis", "_blank", rel, "https://example.org/zapis"],
        ["https://example.org/map", "_blank", rel, "https://example.org/map"],
        ["https://ru.wikipedia.org/wiki/Пособие_(значения)", "_blank", rel,
         "https://ru.wikipedia.org/wiki/Пособие_(значения)"],
    ]
    assert "https://example.org/zapis. Карта (https://example.org/map), справка:" in text
    assert ('javascript:alert(1) <b>жирный</b> <img src=x onerror=alert(2)> '
            '<a href="javascript:alert(3)">нажми</a>') in text
    assert await answer.locator("b, img").count() == 0


async def open_phone(browser, server: TestServer, width: int = 360, height: int = 640):
    context = await browser.new_context(viewport={"width": width, "height": height},
                                        is_mobile=True, has_touch=True)
    page = await context.new_page()
    await page.goto(str(server.make_url("/")))
    await page.wait_for_selector(".msg.bot >> text=Здравствуйте")
    return page


BLUE, WHITE = "rgb(29, 79, 145)", "rgb(255, 255, 255)"


async def background(locator) -> str:
    return await locator.evaluate("e => getComputedStyle(e).backgroundColor")


async def test_a_touched_or_focused_button_does_not_look_chosen(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    # Every :hover rule sits under (hover: hover): a touch screen's sticky hover styles nothing.
    loose = await page.evaluate("""() => {
        const loose = [];
        const walk = (rules, hoverable) => { for (const r of rules) {
            if (r.media) {
                walk(r.cssRules, hoverable || r.conditionText.includes('hover: hover'));
            } else if (r.selectorText && r.selectorText.includes(':hover') && !hoverable) {
                loose.push(r.selectorText); } } };
        for (const sheet of document.styleSheets) { walk(sheet.cssRules, false); }
        return loose; }""")
    assert loose == []
    greeting = page.locator(".msg.bot").first
    menu = greeting.get_by_role("button", name="Главное меню")
    await menu.hover()  # where the finger was: the phone reports no hover, nothing changes
    assert await background(menu) == WHITE
    await page.focus("#text")
    await page.keyboard.press("Shift+Tab")  # the keyboard reaches the greeting's last button
    assert await page.evaluate("document.activeElement.textContent") == "Главное меню"
    assert await background(menu) == WHITE
    assert await menu.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"

    async def slow_send(route) -> None:
        await asyncio.sleep(1)
        await route.continue_()

    await page.route("**/api/chat/send", slow_send)
    await menu.tap()
    assert await background(menu) == BLUE  # pressed: the one filled button
    agree = greeting.get_by_role("button", name="Согласен(на)", exact=True)
    assert await background(agree) == WHITE
    await page.context.close()


async def top_in_view(page, message) -> float:
    """Where the message's first line is, from the top of the visible list (0 .. height)."""
    return await message.evaluate("""e => e.getBoundingClientRect().top
        - document.getElementById('log').getBoundingClientRect().top""")


async def test_a_long_reply_opens_at_its_start_and_reading_is_not_interrupted(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    greeting = page.locator(".msg.bot").first
    height = await page.evaluate("document.getElementById('log').clientHeight")
    assert await greeting.evaluate("e => e.offsetHeight") > height  # taller than the view
    assert 0 <= await top_in_view(page, greeting) < 40
    answer = await ask(page, "Как оформить единое пособие?", "Единое пособие оформляют")
    assert 0 <= await top_in_view(page, answer) < height
    # The client scrolls back to read the greeting; a message that comes meanwhile (from
    # another tab here) does not pull the list away, a button offers to go to it.
    await page.evaluate("document.getElementById('log').scrollTop = 0")
    await page.evaluate("""fetch('/api/chat/send', {method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({id: 'other-tab-1', text: 'Как оформить единое пособие?'})})""")
    newer = page.get_by_role("button", name="Новые сообщения")
    await newer.wait_for(timeout=10_000)
    assert await answer.count() == 2
    assert await page.evaluate("document.getElementById('log').scrollTop") == 0
    await newer.tap()
    assert 0 <= await top_in_view(page, answer.last) < height
    assert await newer.is_hidden()
    await page.context.close()


async def focused(page) -> list[str]:
    return await page.evaluate("""() => { const e = document.activeElement;
        return [e.tagName, e.textContent, e.closest('.msg') ? e.closest('.msg').dataset.id : '',
                String(e.matches(':focus-visible'))]; }""")


async def test_the_keyboard_focus_moves_to_the_reply_after_a_press(
        browser, server: TestServer) -> None:
    page = await open_chat(browser, server)
    await page.focus("#text")
    await page.keyboard.press("Shift+Tab")
    assert (await focused(page))[1] == "Главное меню"
    await page.keyboard.press("Enter")
    reply = page.locator(".msg.bot", has_text="Выберите тему")
    await reply.wait_for(timeout=10_000)
    first = reply.get_by_role("button").first
    await page.wait_for_function("document.activeElement.tagName !== 'BODY'", timeout=5_000)
    assert await focused(page) == ["BUTTON", await first.inner_text(),
                                   await reply.get_attribute("data-id"), "true"]


async def test_a_short_screen_keeps_the_messages_and_the_box_in_view(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server, 360, 300)  # a phone with its keyboard open
    viewport = await page.get_attribute("meta[name=viewport]", "content")
    assert "interactive-widget=resizes-content" in viewport
    # Headless chromium has no toolbar, so dvh and vh measure alike: the rule is checked.
    assert await page.evaluate("""[...document.styleSheets[0].cssRules]
        .find(r => r.selectorText === 'body').style.height""") == "100dvh"
    refusal = "Сообщение не принято: слишком длинное, сократите его, пожалуйста. " * 8

    async def refuse(route) -> None:
        await route.fulfill(status=400, content_type="application/json",
                            body=json.dumps({"ok": False, "error": refusal}))

    await page.route("**/api/chat/send", refuse)
    await page.fill("#text", "Как оформить единое пособие?")
    await page.click("#send")
    await page.wait_for_selector("#error >> text=Сообщение не принято")
    sizes = await page.evaluate("""() => {
        const h = id => document.querySelector(id).getBoundingClientRect();
        const error = document.getElementById('error');
        return {error: h('#error').height, scrolls: error.scrollHeight > error.clientHeight,
                log: h('#log').height, header: h('header').height,
                box: h('#text').bottom, send: h('#send').bottom}; }""")
    assert sizes["error"] <= 80 and sizes["scrolls"], sizes
    assert sizes["log"] >= 140, sizes
    assert sizes["header"] <= 36, sizes
    assert sizes["box"] <= 300 and sizes["send"] <= 300, sizes
    await page.context.close()


async def test_the_error_goes_once_the_text_is_corrected_or_emptied(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    await page.focus("#text")
    await page.keyboard.insert_text("я" * 4001)
    await page.click("#send")
    await page.wait_for_selector("#error >> text=слишком длинное")
    await page.focus("#text")
    await page.keyboard.press("End")
    await page.keyboard.press("Backspace")  # 4000: fits now
    assert await page.inner_text("#error") == ""
    await page.keyboard.insert_text("яя")
    await page.click("#send")
    await page.wait_for_selector("#error >> text=слишком длинное")
    await page.focus("#text")
    await page.keyboard.insert_text("я")  # still too long: the error stays
    assert "слишком длинное" in await page.inner_text("#error")
    await page.fill("#text", "")
    assert await page.inner_text("#error") == ""
    await page.click("#send")
    await page.wait_for_selector("#error >> text=Напишите, пожалуйста, вопрос")
    await page.focus("#text")
    await page.keyboard.type("Д")
    assert await page.inner_text("#error") == ""
    await page.context.close()


PHONES = ("Звоните 8-800-100-00-01 (бесплатно) или +7 (343) 000-00-00, в выходные — "
          "8 (343) 123 45 67. Запись: https://example.org/zapis\n"
          "Не телефоны: 123-456-78-90, 88001000001234, заявка №8800100000.")


async def test_phone_numbers_are_whole_tappable_links_and_links_are_large(
        browser, tmp_path: Path, sqlite_template: Path) -> None:
    async with serve(tmp_path, sqlite_template, OneAnswerFaq("Телефон?", PHONES)) as server:
        page = await open_phone(browser, server)
        answer = await ask(page, "Телефон?", "Звоните")
        links = await answer.locator("a").evaluate_all("""els => els.map(a => [
            a.getAttribute('href'), a.textContent, getComputedStyle(a).whiteSpace,
            a.getBoundingClientRect().height])""")
        text = await answer.inner_text()
        await page.context.close()
    assert [link[:2] for link in links] == [
        ["tel:+78001000001", "8-800-100-00-01"],
        ["tel:+73430000000", "+7 (343) 000-00-00"],
        ["tel:+73431234567", "8 (343) 123 45 67"],
        ["https://example.org/zapis", "https://example.org/zapis"],
    ]
    line = links[-1][3]
    for href, _, white_space, height in links:
        assert height >= 44, (href, height)
        if href.startswith("tel:"):
            assert white_space == "nowrap"
            assert height == line, (href, height)  # on one line: not broken mid-number
    assert "Не телефоны: 123-456-78-90, 88001000001234, заявка №8800100000." in text


CRISIS_PHONES = (
    "Звоните 112, 102 или 103; пожарные — по телефону 01. Линии: 8-800-7000-600, "
    "8-800-2000-122, 8 (800) 555-35-35, +7 912 123-45-67, 8-495-989-50-50, 89121234567.\n"
    "Не телефоны: 12 000 рублей, 103 рубля, 112 000 ₽, 01.12.2026, с 01 по 15 число, "
    "2026 год, в 10:30, СНИЛС 112-233-445 95, 812-345-678 90, 8 123 456 789 рублей, 1120, "
    "102-й кабинет, 104%, кабинет 103, № 102, ст. 112 УК, дом 101.")


async def test_emergency_and_hotline_numbers_in_every_common_form_are_tappable(
        browser, tmp_path: Path, sqlite_template: Path) -> None:
    faq = OneAnswerFaq("Куда звонить?", CRISIS_PHONES)
    async with serve(tmp_path, sqlite_template, faq) as server:
        page = await open_phone(browser, server)
        answer = await ask(page, "Куда звонить?", "Звоните 112")
        links = await answer.locator("a").evaluate_all(
            "els => els.map(a => [a.getAttribute('href'), a.textContent])")
        text = await answer.inner_text()
        await page.context.close()
    assert links == [
        ["tel:112", "112"], ["tel:102", "102"], ["tel:103", "103"], ["tel:01", "01"],
        ["tel:+78007000600", "8-800-7000-600"], ["tel:+78002000122", "8-800-2000-122"],
        ["tel:+78005553535", "8 (800) 555-35-35"], ["tel:+79121234567", "+7 912 123-45-67"],
        ["tel:+74959895050", "8-495-989-50-50"], ["tel:+79121234567", "89121234567"],
    ]
    assert CRISIS_PHONES.split("\n")[1] in text


@pytest.mark.parametrize("height", [640, 300])
async def test_on_a_phone_the_send_button_is_compact_and_the_hint_fits_the_box(
        browser, server: TestServer, height: int) -> None:
    page = await open_phone(browser, server, 360, height)
    send = page.get_by_role("button", name="Отправить", exact=True)
    assert (await send.bounding_box())["width"] <= 64
    room, hint = await page.eval_on_selector("#text", """e => {
        const s = getComputedStyle(e), ctx = document.createElement('canvas').getContext('2d');
        ctx.font = s.font;
        return [e.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight),
                ctx.measureText(e.placeholder).width]; }""")
    assert room >= hint, (room, hint)  # the hint on one line
    await page.context.close()


async def test_a_screen_reader_hears_a_heading_a_log_and_who_wrote_each_message(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    await ask(page, "Как оформить единое пособие?", "Единое пособие оформляют")
    tree = await page.locator("body").aria_snapshot()
    assert '- heading "Онлайн-приёмная — задайте вопрос" [level=1]' in tree
    assert '- log "Переписка"' in tree
    assert "Помощник: Здравствуйте!" in tree
    assert "Вы: Как оформить единое пособие? Помощник: Единое пособие оформляют" in tree
    assert await page.get_attribute("[role=log]", "aria-live") == "polite"
    # The labels are for the ear: the copied or shown text of a bubble is the message alone.
    assert await page.locator(".msg.client").last.inner_text() == "Как оформить единое пособие?"
    await page.context.close()


async def test_a_failed_press_gives_the_keyboard_focus_back_to_its_button(
        browser, server: TestServer) -> None:
    page = await open_chat(browser, server)

    async def server_error(route) -> None:
        await route.fulfill(status=500, content_type="text/html", body="<h1>Server Error</h1>")

    await page.route("**/api/chat/send", server_error)
    await page.focus("#text")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#error >> text=Сообщение не отправлено")
    greeting = await page.locator(".msg.bot").first.get_attribute("data-id")
    assert (await focused(page))[:3] == ["BUTTON", "Главное меню", greeting]


async def style_of(page, selector: str, prop: str) -> str:
    return await page.eval_on_selector(
        selector, f"e => getComputedStyle(e).getPropertyValue('{prop}')")


async def test_the_box_and_the_send_button_show_the_keyboard_focus_and_fonts_follow_the_user(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    assert await style_of(page, "html", "font-size") == "20px"  # at the default 16 px
    body_font = await style_of(page, "body", "font-family")
    assert await style_of(page, ".buttons button", "font-family") == body_font
    assert await style_of(page, "#send", "font-family") == body_font
    await page.focus("#text")
    assert await style_of(page, "#text", "outline") == "rgb(232, 162, 0) solid 3px"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "send"
    assert await style_of(page, "#send", "outline") == "rgb(232, 162, 0) solid 3px"
    # A client who chose a larger font in the browser gets a larger chat.
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 24}})
    assert await style_of(page, "html", "font-size") == "30px"
    await page.context.close()


async def test_the_box_grows_with_the_text_up_to_a_few_lines(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    empty = (await page.locator("#text").bounding_box())["height"]
    await page.focus("#text")
    await page.keyboard.insert_text("строка\nстрока\nстрока")
    three = (await page.locator("#text").bounding_box())["height"]
    assert three > empty + 20, (empty, three)
    assert await page.eval_on_selector("#text", "e => e.scrollHeight <= e.clientHeight")
    await page.keyboard.insert_text("\nстрока" * 20)
    tall = (await page.locator("#text").bounding_box())["height"]
    assert tall <= 8.5 * 20 + 1, tall  # five lines or so, then it scrolls
    await page.fill("#text", "")
    await page.keyboard.insert_text("д")
    assert (await page.locator("#text").bounding_box())["height"] == empty
    await page.context.close()


async def test_an_over_long_message_is_refused_once_and_the_refusal_is_read_whole(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    await page.focus("#text")
    await page.keyboard.insert_text("очень длинная история " * 200)
    assert await page.locator("#counter").is_visible()
    await page.click("#send")
    await page.wait_for_selector("#error >> text=слишком длинное")
    assert await page.locator("#counter").is_hidden()
    assert await page.eval_on_selector("#error", "e => e.scrollHeight <= e.clientHeight")
    await page.context.close()


async def test_each_message_shows_its_time_and_a_hidden_tab_tells_of_a_reply(
        browser, server: TestServer) -> None:
    context = await browser.new_context(timezone_id="Europe/Moscow")
    page = await context.new_page()
    await page.goto(str(server.make_url("/")))
    await page.wait_for_selector(".msg.bot >> text=Здравствуйте")
    answer = await ask(page, "Как оформить единое пособие?", "Единое пособие оформляют")
    stored = await page.evaluate(
        "fetch('/api/chat/messages?after=0').then(r => r.json()).then(d => d.messages)")
    at = datetime.fromisoformat(stored[-1]["at"]).astimezone(ZoneInfo("Europe/Moscow"))
    assert await answer.get_attribute("data-at") == at.strftime("%H:%M")
    assert await answer.evaluate("e => getComputedStyle(e, '::after').display") == "block"
    assert "Единое пособие" in await answer.inner_text()
    assert at.strftime("%H:%M") not in await answer.inner_text()  # not in a copied text
    assert await page.title() == "Онлайн-приёмная"
    await page.evaluate("""() => { for (const [k, v] of [['hidden', true],
        ['visibilityState', 'hidden']]) {
        Object.defineProperty(document, k, {configurable: true, get: () => v}); } }""")
    await page.evaluate("""fetch('/api/chat/send', {method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({id: 'other-tab-2', text: 'Как оформить единое пособие?'})})""")
    await page.wait_for_function("document.title.startsWith('(1) Новый ответ')",
                                 timeout=10_000)
    await page.evaluate("""() => { delete document.hidden; delete document.visibilityState;
        document.dispatchEvent(new Event('visibilitychange')); }""")
    assert await page.title() == "Онлайн-приёмная"
    await context.close()


async def test_the_marks_1_to_5_are_one_row_in_view_with_names_for_the_ear(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    await page.evaluate("""fetch('/api/chat/send', {method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({id: 'close-1', action: 'close', text: ''})})""")
    request = page.locator(".msg.bot", has_text="Оцените")
    await request.wait_for(timeout=10_000)
    await page.get_by_role("button", name="Новые сообщения").tap()  # sent from outside here
    marks = request.get_by_role("button")
    assert await marks.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))") == [
        "1 — плохо", "2 из 5", "3 из 5", "4 из 5", "5 — отлично"]
    boxes = [await marks.nth(i).bounding_box() for i in range(5)]
    assert len({round(b["y"]) for b in boxes}) == 1, boxes  # one row
    assert all(b["y"] + b["height"] <= 640 and b["height"] >= 44 for b in boxes), boxes
    await request.get_by_role("button", name="5 — отлично").tap()
    await page.locator(".msg.bot", has_text="Спасибо за оценку").wait_for(timeout=10_000)
    await page.context.close()


async def test_on_a_phone_a_clarification_offers_each_option_once(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    clarify = await ask(page, "получить", "Уточните")
    options = await clarify.locator(".buttons button").all_inner_texts()
    assert "2. Как получить субсидию на ЖКУ?" in options
    text = await clarify.evaluate("e => e.firstElementChild.nextSibling.nodeValue")
    assert "субсидию" not in text and "1." not in text, text
    # The first option is in view as the message opens, not a screen below it.
    height = await page.evaluate("document.getElementById('log').clientHeight")
    assert await top_in_view(page, clarify.locator(".buttons button").first) < height - 40
    await clarify.get_by_role("button", name="Как получить субсидию на ЖКУ?").tap()
    await page.locator(".msg.bot", has_text="Субсидию назначают").wait_for(timeout=10_000)
    await page.context.close()


async def test_the_number_a_clarification_asks_for_is_on_its_button(
        browser, server: TestServer) -> None:
    """«…или напишите его номер»: the list the chat leaves out numbered its options, so the
    buttons carry the numbers; the one a client types is the one they read."""
    page = await open_phone(browser, server)
    clarify = await ask(page, "получить", "Уточните")
    assert "напишите его номер" in await clarify.inner_text()
    options = [t.strip() for t in await clarify.locator(".buttons button").all_inner_texts()]
    assert options[:2] == ["1. Как получить областной материнский капитал?",
                           "2. Как получить субсидию на ЖКУ?"]
    assert not options[2][0].isdigit(), options  # «none of these» had no number in the list
    await ask(page, "2", "Субсидию назначают")
    await page.context.close()


SAMPLE_NAME = ("ГАУ «Комплексный центр социального обслуживания населения Примерного района» "
               "(пример)")


async def test_on_a_phone_the_greeting_is_short_and_still_says_what_consent_is_for(
        browser, tmp_path: Path, sqlite_template: Path) -> None:
    async with serve(tmp_path, sqlite_template, institution=SAMPLE_NAME) as server:
        page = await open_phone(browser, server)
        greeting = page.locator(".msg.bot").first
        screens = await greeting.evaluate(
            "e => e.offsetHeight / document.getElementById('log').clientHeight")
        text = await greeting.inner_text()
        await page.context.close()
    assert screens <= 1.9, screens  # 2.4 screens before
    for said in ("152-ФЗ", "согласие на обработку персональных данных", "удалите мои данные",
                 "ограниченный срок", "только для ответа", "можно с ошибками"):
        assert said in text, said


async def test_a_lost_identity_is_explained_in_plain_words(browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    await page.context.clear_cookies()
    await page.fill("#text", "Как оформить единое пособие?")
    await page.click("#send")
    await page.wait_for_selector("#error >> text=чат вас не узнал")
    error = await page.inner_text("#error")
    assert "Обновите, пожалуйста, страницу" in error
    assert "cookie" not in error.lower()
    assert await page.eval_on_selector("#error", "e => e.scrollHeight <= e.clientHeight"), \
        await page.eval_on_selector("#error", "e => [e.scrollHeight, e.clientHeight]")
    assert await page.input_value("#text") == "Как оформить единое пособие?"
    await page.context.close()


async def test_a_message_sent_while_the_server_restarts_goes_once_it_is_back(
        browser, tmp_path: Path, sqlite_template: Path) -> None:
    db = tmp_path / "chat.db"
    shutil.copy(sqlite_template, db)
    settings = Settings(database={"url": f"sqlite+aiosqlite:///{db}"},
                        outbox={"poll_interval_s": 0.05})
    first = TestServer(build_app(build_runtime(settings, FakeFaq())), host="127.0.0.1")
    await first.start_server()
    port = first.port
    try:
        page = await open_chat(browser, first)
    finally:
        await first.close()  # the server stops: a deployment, a crash
    question = "Как оформить единое пособие?"
    await page.fill("#text", question)
    await page.click("#send")
    await page.wait_for_selector("#net >> text=Нет связи", timeout=10_000)
    await page.wait_for_timeout(15_000)  # down for longer than the old 10 s of retries
    assert await page.locator(".msg.client.pending", has_text="Отправляется…").count() == 1
    again = TestServer(build_app(build_runtime(settings, FakeFaq())), host="127.0.0.1",
                       port=port)
    await again.start_server()
    try:
        await page.locator(".msg.bot", has_text="Единое пособие оформляют").wait_for(
            timeout=15_000)
        assert await page.inner_text("#net") == ""
        assert await page.locator(".msg.client", has_text=question).count() == 1
        assert stored_texts(tmp_path, question) == 1
    finally:
        await page.close()
        await again.close()


@pytest.mark.parametrize(("width", "height"), [(320, 568), (320, 300), (360, 640), (414, 800)])
async def test_on_a_narrow_phone_the_title_stays_on_one_line(
        browser, server: TestServer, width: int, height: int) -> None:
    page = await open_phone(browser, server, width, height)  # 300: the keyboard open
    lines = await page.eval_on_selector("h1", """e => {
        const r = document.createRange(); r.selectNodeContents(e);
        return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size; }""")
    fits = await page.eval_on_selector("header", "e => e.scrollWidth <= e.clientWidth")
    await page.context.close()
    assert (lines, fits) == (1, True)


async def test_after_a_refused_consent_a_reload_says_why_the_name_is_hidden(
        browser, server: TestServer) -> None:
    page = await open_phone(browser, server)
    await ask(page, "Меня зовут Анна Петрова, как быть с пособием", "не нашёл точного ответа")
    await page.get_by_role("button", name="Задать вопрос специалисту").last.click()
    await page.get_by_role("button", name="Не согласен(на)").last.click()
    await page.wait_for_selector(".msg.bot >> text=без согласия специалист не сможет")
    await page.reload()
    mine = page.locator(".msg.client", has_text="Меня зовут")
    await mine.wait_for()
    shown = await mine.inner_text()
    await page.context.close()
    assert shown.startswith("Меня зовут [ФИО], как быть с пособием\n")
    assert "Имя и другие личные данные здесь скрыты: без вашего согласия мы их не храним." \
        in shown
