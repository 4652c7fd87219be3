"""Log in as administrator in a real browser and see the dashboard's figures and charts."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import update

from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import RUNTIME, build_app
from storage.models import Specialist
from tests.analytics.generator import AS_OF, write_log
from tests.bots.staff import PASSWORDS, add_staff
from tests.fakes import Clock, FakeFaq

NOV = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
async def server(tmp_path, sqlite_template) -> AsyncIterator[TestServer]:
    db = tmp_path / "admin.db"
    shutil.copy(sqlite_template, db)
    clock = Clock(AS_OF)
    rt = build_runtime(Settings(database={"url": f"sqlite+aiosqlite:///{db}"}), FakeFaq(),
                       clock=clock)
    await write_log(rt.sessions)
    await add_staff(rt, clock)
    async with TestServer(build_app(rt, start_background=False), host="127.0.0.1") as s:
        yield s
    await rt.engine.dispose()


async def test_admin_sees_figures_and_charts(browser, server: TestServer) -> None:
    page = await browser.new_page()
    await page.goto(str(server.make_url("/admin/?from=2026-11-01&to=2026-11-30")))
    await page.fill("#login", "boss")
    await page.fill("#password", PASSWORDS["boss"])
    await page.click("button[type=submit] >> text=Войти")
    await page.wait_for_selector("#m-conversations", timeout=10_000)
    assert await page.inner_text("#m-conversations .value") == "6"
    assert "2 из 6" in await page.inner_text("#m-faq .value")
    images = page.locator("figure.chart img")
    assert await images.count() == 4
    loaded = await page.evaluate(
        "Array.from(document.querySelectorAll('figure.chart img'))"
        ".map(i => i.complete && i.naturalWidth > 0)")
    assert loaded == [True, True, True, True]
    alt = await images.first.get_attribute("alt")
    assert alt is not None and alt.startswith("Обращения по дням")
    await page.get_by_text("Данные графика").first.click()
    assert await page.locator("figure.chart table.data").first.is_visible()


# Every word of the log table's headers on one line: its rectangles all share one top.
_BROKEN_HEADER_WORDS = """() => {
  const broken = [];
  for (const th of document.querySelectorAll("table th")) {
    const node = th.firstChild;
    if (!node || node.nodeType !== Node.TEXT_NODE) continue;
    for (const m of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set(Array.from(range.getClientRects(), r => Math.round(r.top)));
      if (tops.size > 1) broken.push(m[0]);
    }
  }
  return broken;
}"""


@pytest.mark.parametrize("width", [360, 800, 1030])
async def test_log_headers_keep_their_words_whole(browser, server: TestServer,
                                                  width: int) -> None:
    page = await browser.new_page(viewport={"width": width, "height": 800})
    await page.goto(str(server.make_url("/admin/log?from=2026-11-01&to=2026-11-30")))
    await page.fill("#login", "boss")
    await page.fill("#password", PASSWORDS["boss"])
    await page.click("button[type=submit] >> text=Войти")
    await page.wait_for_selector("#log-total", timeout=10_000)
    assert await page.evaluate(_BROKEN_HEADER_WORDS) == []
    # The page itself does not scroll sideways: a wide table scrolls inside its box.
    assert await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")


async def signed_in(browser, server: TestServer, width: int, path: str):
    page = await browser.new_page(viewport={"width": width, "height": 640})
    await page.goto(str(server.make_url(path)))
    await page.fill("#login", "boss")
    await page.fill("#password", PASSWORDS["boss"])
    await page.click("button[type=submit] >> text=Войти")
    await page.wait_for_selector("main h1", timeout=10_000)
    return page


async def test_the_top_bar_is_one_line_at_1280_px(browser, server: TestServer) -> None:
    """«Выход» wrapped onto a second line beside a name like «Администратор»."""
    async with server.app[RUNTIME].sessions.begin() as s:
        await s.execute(update(Specialist).where(Specialist.login == "boss")
                        .values(display_name="Администратор учреждения Иванова"))
    page = await signed_in(browser, server, 1280, "/admin/")
    first = await page.locator("nav a").first.bounding_box()
    out = await page.locator("nav button", has_text="Выход").bounding_box()
    assert first and out and abs(out["y"] + out["height"] / 2
                                 - first["y"] - first["height"] / 2) < 4
    assert out["x"] + out["width"] <= 1280


async def test_the_top_lists_share_the_width_and_keep_their_own_heights(
        browser, server: TestServer) -> None:
    page = await signed_in(browser, server, 1280, f"/admin/?{NOV}")
    boxes = [await t.bounding_box() for t in await page.query_selector_all(".top-lists table")]
    main = await page.evaluate("document.querySelector('main').clientWidth")
    assert len(boxes) == 2 and sum(b["width"] for b in boxes if b) > 0.85 * main
    rows = await page.evaluate("""() => [...document.querySelectorAll(
        '.top-lists table:last-child tr')].map(r => r.getBoundingClientRect().height)""")
    assert len(rows) > 2 and max(rows) < 70, rows  # a row is its own text's height


@pytest.mark.parametrize("path", [f"/admin/?{NOV}", f"/admin/log?{NOV}", f"/admin/gaps?{NOV}"])
async def test_on_a_phone_the_page_starts_within_the_first_screen(
        browser, server: TestServer, path: str) -> None:
    """Two bars of links and the filter form pushed the first row ~1.5 screens down."""
    page = await signed_in(browser, server, 360, path)
    first = page.locator("#m-conversations, #log-total, #gap-count").first
    box = await first.bounding_box()
    assert box and box["y"] + box["height"] < 640, box
    await page.locator(".filters-box summary").click()  # the form is a tap away
    assert await page.locator(".filters button[type=submit]").is_visible()
