"""A fetched file as an HTTP response that a browser shows or saves, but never runs."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from handlers.platform_ports import FileData

# The types a browser displays itself without running anything; the rest is downloaded.
_INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp",
                           "application/pdf"})


def file_response(data: FileData) -> web.Response:
    inline = data.mime in _INLINE_TYPES
    return web.Response(body=data.content, headers={
        "Content-Type": data.mime if inline else "application/octet-stream",
        "Content-Disposition": f"{'inline' if inline else 'attachment'}; "
                               f"filename*=UTF-8''{quote(data.name)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    })
