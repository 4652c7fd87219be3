"""Web chat routes: the page, sending a message and polling for replies."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bots.json_body import NotJson, UnreadableBody, read_json_body
from bots.text import to_storable
from bots.web.chat_text import to_web_numbers, to_web_text
from bots.web.download import file_response
from handlers.delivery_ports import ClientTimeline
from handlers.model import Action, ActionKind, Author, Channel, IncomingMessage
from handlers.pii import has_masks
from handlers.platform_ports import FileSource, FileUnavailable
from handlers.ports import Texts
from handlers.reception import Reception
from handlers.secrets import redact

log = logging.getLogger(__name__)

COOKIE = "priemnaya_client"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

RECEPTION = web.AppKey("reception", Reception)
TIMELINE = web.AppKey("timeline", ClientTimeline)
FILES: web.AppKey[Mapping[str, FileSource]] = web.AppKey("files")


@dataclass(frozen=True, slots=True)
class ChatLimits:
    max_chars: int
    cookie_secure: bool


CHAT_LIMITS = web.AppKey("chat_limits", ChatLimits)
TEXTS = web.AppKey("texts", Texts)


def bad_request(message: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": message}, status=status)


def client_token(request: web.Request) -> str | None:
    token = request.cookies.get(COOKIE, "")
    return token if _TOKEN.match(token) else None


@aiohttp_jinja2.template("chat.html")
async def chat_page(request: web.Request) -> dict[str, Any]:
    return {"max_chars": request.app[CHAT_LIMITS].max_chars}


@web.middleware
async def chat_cookie(request: web.Request, handler: Any) -> web.StreamResponse:
    """Gives every visitor of the chat page an anonymous identity of their own."""
    response: web.StreamResponse = await handler(request)
    if request.path == "/" and client_token(request) is None:
        give_identity(request, response)
    return response


def give_identity(request: web.Request, response: web.StreamResponse) -> None:
    secure = request.app[CHAT_LIMITS].cookie_secure
    # An embedded (cross-site iframe) chat needs SameSite=None, which browsers accept
    # only with Secure; plain HTTP on localhost keeps Lax.
    response.set_cookie(COOKIE, secrets.token_urlsafe(24), max_age=365 * 24 * 3600,
                        httponly=True, secure=secure, samesite="None" if secure else "Lax")


async def send(request: web.Request) -> web.Response:
    token = client_token(request)
    if token is None:
        return bad_request(request.app[TEXTS].render("chat_reload"), 403)
    try:
        body, _ = await read_json_body(request)
    except NotJson:
        return bad_request("Ожидался JSON.")
    except UnreadableBody as exc:
        log.warning("web chat message refused: %s", exc)
        return bad_request(f"Ожидался JSON в UTF-8: {exc}.")
    if not isinstance(body, dict):
        return bad_request("Ожидался JSON-объект.")
    return await _accept(request, token, body)


async def _accept(request: web.Request, token: str, body: dict[str, Any]) -> web.Response:
    text, action_text, message_id = body.get("text", ""), body.get("action", ""), body.get("id")
    if not isinstance(text, str) or not isinstance(action_text, str):
        return bad_request("Поля text и action должны быть строками.")
    if not isinstance(message_id, str) or not _MESSAGE_ID.match(message_id):
        return bad_request("Поле id: 1–64 латинских букв, цифр, «-» или «_».")
    limit = request.app[CHAT_LIMITS].max_chars
    texts = request.app[TEXTS]
    if len(text) > limit:
        return bad_request(texts.render("message_too_long", length=len(text), limit=limit), 413)
    action = Action.parse(action_text) if action_text else None
    if action_text and action is None:
        return bad_request(texts.render("unknown_action"))
    if not text.strip() and action is None:
        return bad_request(texts.render("empty_message"))
    msg = IncomingMessage(Channel.WEB, token, message_id, to_storable(text.strip()),
                          action=action)
    processed = await request.app[RECEPTION].handle(msg)
    if action is not None and action.kind is ActionKind.FORGET_CONFIRM \
            and not await request.app[TIMELINE].messages_for(Channel.WEB, token, 0, 1):
        # Erased (the token points to nothing now); without the question asked just before,
        # the press only asked it again (handlers/offers.py).
        return _forgotten(request)
    return web.json_response({"ok": True, "duplicate": not processed})


def _forgotten(request: web.Request) -> web.Response:
    """The erasure's confirmation, given in the answer itself.

    Erasure blanks every stored message of the client, the queued confirmation too, and
    unlinks this browser's token, so the page could never poll it. The page clears the old
    conversation on `reset`; a new token makes the browser a visitor the erased data no longer
    points to (outbox addresses and logs still hold the old one).
    """
    response = web.json_response({"ok": True, "duplicate": False, "reset": True,
                                  "notice": request.app[TEXTS].render("forgotten")})
    give_identity(request, response)
    return response


async def messages(request: web.Request) -> web.Response:
    token = client_token(request)
    if token is None:
        return bad_request(request.app[TEXTS].render("chat_reload"), 403)
    after_text = request.query.get("after", "0")
    if not after_text.isdigit() or len(after_text) > 18:
        return bad_request("Параметр after должен быть неотрицательным целым числом.")
    items = await request.app[TIMELINE].messages_for(Channel.WEB, token, int(after_text), 100)
    # Which visitor this is, without the token itself: another tab of the same browser that
    # erased the data (a new token) tells this one to clear what it still shows.
    identity = hashlib.sha256(token.encode()).hexdigest()[:16]
    # The client's own words masked after a refused consent read «меня зовут [ФИО]» on a
    # reload: they are told why under each such message.
    masked = request.app[TEXTS].render("chat_masked")
    return web.json_response({"identity": identity, "messages": [
        {"id": i.id, "author": i.author, "text": to_web_text(i.text, i.buttons),
         "at": i.at.isoformat(),
         "note": masked if i.author == Author.CLIENT and has_masks(i.text) else "",
         "buttons": [[{"label": b.label, "action": b.action.to_payload(), "number": n}
                      for b, n in zip(row, numbers, strict=True)]
                     for row, numbers in zip(i.buttons, to_web_numbers(i.text, i.buttons),
                                             strict=True)],
         "files": [{"name": a.name or a.kind, "url": f"/api/chat/files/{i.id}/{n}"}
                   for n, a in enumerate(i.attachments)
                   if a.is_file and i.author != Author.CLIENT]}
        for i in items]})


async def file(request: web.Request) -> web.StreamResponse:
    """A file a specialist sent to this client, fetched from the channel that keeps it."""
    token = client_token(request)
    texts = request.app[TEXTS]
    if token is None:
        return bad_request(texts.render("chat_reload"), 403)
    message, index = request.match_info["message"], request.match_info["index"]
    if not (message.isdigit() and index.isdigit() and len(message) <= 18 and len(index) <= 3):
        raise web.HTTPNotFound()
    found = await request.app[TIMELINE].attachment_of(Channel.WEB, token, int(message),
                                                      int(index))
    source = request.app[FILES].get(found.source) if found is not None else None
    if found is None or not found.is_file or source is None:
        raise web.HTTPNotFound()
    try:
        data = await source.fetch(found)
    except FileUnavailable as exc:
        log.warning("web chat file %s/%s unavailable: %s", message, index, redact(str(exc)))
        status = 410 if exc.permanent else 503
        return bad_request(texts.render("chat_file_unavailable", temporary=not exc.permanent),
                           status)
    return file_response(data)


def setup_chat(app: web.Application) -> None:
    app.middlewares.append(chat_cookie)
    app.router.add_get("/", chat_page, name="chat")
    app.router.add_post("/api/chat/send", send)
    app.router.add_get("/api/chat/messages", messages)
    app.router.add_get(r"/api/chat/files/{message}/{index}", file)
