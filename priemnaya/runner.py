"""The aiohttp runner: its limits on a request's lines, and a Russian answer past them."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_request import BaseRequest

log = logging.getLogger(__name__)

# Four times aiohttp's 8190: a request line or one header, such as a long /admin/log link
# (a pasted query) and the Referer it leaves on the next click, reaches the app.
MAX_LINE_BYTES = 32_768
TOO_LONG = ("Запрос не принят: адрес страницы или заголовок запроса длиннее 32 КБ. "
            "Вернитесь назад и откройте страницу по более короткой ссылке "
            "(например, с более коротким текстом поиска).")


class _RequestHandler(web.RequestHandler):
    def handle_error(self, request: BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        """A line over the limit is refused before any route or middleware of the app sees
        the request; aiohttp would answer it with its own English page and log a traceback."""
        if not isinstance(exc, LineTooLong):
            return super().handle_error(request, status, exc, message)
        # Not the line itself: a query string may carry what a client or a search typed.
        log.warning("a request from %s refused: a line over %s bytes", request.remote,
                    MAX_LINE_BYTES)
        response = web.Response(status=400, text=TOO_LONG)
        response.force_close()
        return response


class _Server(web.Server):
    def __call__(self) -> web.RequestHandler:
        return _RequestHandler(self, loop=self._loop, **self._kwargs)


class _AppRunner(web.AppRunner):
    """aiohttp has no hook for the answer to a request it cannot parse (aio-libs/aiohttp#3287,
    open): its server is rebuilt around a request handler that gives ours. aiohttp is pinned
    (pyproject.toml); tests/priemnaya/test_serve.py sends such a request to a started server."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _Server(server.request_handler, request_factory=server.request_factory,
                       handler_cancellation=server.handler_cancellation, loop=server._loop,
                       **server._kwargs)


def build_runner(app: web.Application) -> web.AppRunner:
    return _AppRunner(app, access_log=None, max_line_size=MAX_LINE_BYTES,
                      max_field_size=MAX_LINE_BYTES)
