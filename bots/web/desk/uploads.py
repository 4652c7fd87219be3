"""What a specialist may send to a client from the desk: documents and pictures, 10 MB."""

from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import unquote

from aiohttp import web

MAX_UPLOAD_BYTES = 10 * 2**20
# Office documents and pictures a client can open on a phone; nothing that runs.
ALLOWED = {
    ".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".png": "image/png", ".txt": "text/plain", ".rtf": "application/rtf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
}
# The formats whose first bytes say what they are: a renamed file is refused.
_MAGIC = {"application/pdf": (b"%PDF",), "image/jpeg": (b"\xff\xd8\xff",),
          "image/png": (b"\x89PNG\r\n\x1a\n",)}
_UNSAFE = re.compile(r"[\x00-\x1f\\/:*?\"<>|]+")


def clean_name(filename: str) -> str:
    """The file's own name without any path a browser may send, safe in every channel.

    Browsers send the name as UTF-8, some HTTP clients percent-encoded: both are read.
    """
    base = posixpath.basename(unquote(filename).replace("\\", "/"))
    name = _UNSAFE.sub("_", base).strip(" .")
    return name[-120:] or "file"


def check_upload(filename: str, content: bytes) -> tuple[str, str, bytes] | str:
    """(name, MIME type, content), or the desk's error code."""
    name = clean_name(filename)
    mime = ALLOWED.get(posixpath.splitext(name)[1].lower())
    if mime is None:
        return "!file_type"
    if not content:
        return "!no_file"
    if len(content) > MAX_UPLOAD_BYTES:
        return "!file_too_big"
    if mime in _MAGIC and not content.startswith(_MAGIC[mime]):
        return "!file_type"
    return name, mime, content


@web.middleware
async def upload_limit(request: web.Request, handler: Any) -> web.StreamResponse:
    """The app reads at most 1 MB of a body; a file sent from the desk may be larger."""
    if not (request.method == "POST" and request.path.startswith("/desk/c/")
            and request.path.endswith("/send_file")):
        response: web.StreamResponse = await handler(request)
        return response
    request = request.clone(client_max_size=MAX_UPLOAD_BYTES + 512 * 1024)
    try:
        response = await handler(request)
    except web.HTTPRequestEntityTooLarge:
        # Far over the limit the form is not read to its end: back to the page, with why.
        page = request.path.removesuffix("/send_file")
        raise web.HTTPSeeOther(f"{page}?error=file_too_big") from None
    except BaseException:
        await _close_uploads(request)
        raise
    await _close_uploads(request)
    return response


async def _close_uploads(request: web.Request) -> None:
    """aiohttp spools uploads to temporary files and leaves them open."""
    if request.content_type != "multipart/form-data" or not request.body_exists:
        return
    try:
        form = await request.post()  # the form the handler read, not a second reading
    except Exception:  # never read to its end: nothing of it is held
        return
    for value in form.values():
        if isinstance(value, web.FileField):
            value.file.close()
