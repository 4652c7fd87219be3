"""The runner of `priemnaya run`: requests with lines over its limit get a Russian answer."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web

from priemnaya.runner import MAX_LINE_BYTES, build_runner


async def hello(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/admin/log", hello)
    runner = build_runner(app)
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("where", ["query", "header"])
async def test_a_line_over_the_limit_is_refused_in_russian(
        server: str, where: str, caplog: pytest.LogCaptureFixture) -> None:
    secret = "СНИЛС+112-233-445+95+"
    long = secret * (40 * 1024 // len(secret.encode()))  # 40 KiB, past MAX_LINE_BYTES
    query = {"q": long} if where == "query" else {}
    headers = {"X-Pasted": long.encode().hex()[:40 * 1024]} if where == "header" else {}
    async with ClientSession() as client:
        r = await client.get(server + "/admin/log", params=query, headers=headers)
        text = await r.text()
        assert r.status == 400
        assert r.content_type == "text/plain" and r.charset == "utf-8"
        assert text.startswith("Запрос не принят: адрес страницы или заголовок запроса")
        assert "Got more than" not in text and "Bad Request" not in text
        # The same server answers the next request as usual.
        r = await client.get(server + "/admin/log", params={"q": "справка"})
        assert (r.status, await r.text()) == (200, "ok")
    # One line in the log, without a traceback or what was typed.
    logged = [(r.name, r.levelname, r.exc_info is None) for r in caplog.records]
    assert logged == [("priemnaya.runner", "WARNING", True)]
    assert "СНИЛС" not in caplog.text and "112-233" not in caplog.text
    assert str(MAX_LINE_BYTES) in caplog.text


async def test_a_line_past_aiohttps_own_limit_reaches_the_app(server: str) -> None:
    async with ClientSession() as client:
        # 24 KB percent-encoded: three times aiohttp's default of 8190, within ours.
        r = await client.get(server + "/admin/log", params={"q": "с" * 4_000})
        assert (r.status, await r.text()) == (200, "ok")
