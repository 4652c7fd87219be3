"""Desk pages: the queues' open conversations and one conversation with its history."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from bots.web.auth import Role, StaffUser, current_user, render_error, require
from bots.web.desk import (
    DESK,
    DeskServices,
    holder_of,
    may_see,
    opens_files,
    reads_in_full,
    works_on,
)
from bots.web.desk.masking import masked, masked_attachments
from bots.web.desk.timing import Timing, timing_of
from bots.web.download import file_response
from handlers.model import State
from handlers.names import known_name
from handlers.pii import client_label, contacts_of
from handlers.platform_ports import FileUnavailable
from handlers.routing import Queue, QueueDirectory
from handlers.secrets import redact
from storage.desk_queries import DeskMessage, DeskRow

log = logging.getLogger(__name__)

# "waiting": nobody has taken it; "taken": someone has, and has not answered yet.
STATE_FILTERS = ("", State.WAITING, "taken", State.WITH_SPECIALIST, "mine")
MAX_REPLY_CHARS = 4000
ALL_QUEUES = "*"  # ?queue=*: every queue, for a member of some whose list shows only theirs


@dataclass(frozen=True, slots=True)
class ListItem:
    row: DeskRow
    timing: Timing
    queue_title: str
    client: str  # the client's name, as initials unless the list's user is the assignee


@dataclass(frozen=True, slots=True)
class ShownMessage:
    message: DeskMessage
    text: str
    action: str
    attachments: tuple[tuple[str, str, str], ...]  # kind, ref ("" unless opens), name
    new_conversation: bool  # the first message of another conversation of this client
    at: datetime  # in the institution's time zone
    # Whether this user opens the message's files (through the audited /desk/files route);
    # for everyone else the references (Telegram file ids, VK's file addresses) are dropped
    # here, so that no page can show or link them.
    opens: bool = False


def form_token() -> str:
    """A reply form's one-time token: its posts share one dedupe key (actions._form_key)."""
    return secrets.token_urlsafe(16)


def conversation_id(request: web.Request) -> int:
    return int(request.match_info["id"])


def _keep(row: DeskRow, state: str, user: StaffUser) -> bool:
    if state == "mine":
        return row.assigned_to == user.id
    if state in (State.WAITING, "taken"):
        taken = row.assigned_to is not None
        return row.state == State.WAITING and taken == (state == "taken")
    return not state or row.state == state


def my_queues(user: StaffUser, directory: QueueDirectory) -> tuple[Queue, ...]:
    """The queues a specialist is a member of (settings queues[].members); admins see all."""
    if user.role is Role.ADMIN:
        return ()
    return tuple(q for q in directory.queues if user.login in q.members)


def _in_scope(row: DeskRow, mine: frozenset[str], user: StaffUser,
              directory: QueueDirectory) -> bool:
    """No scope is every queue; else the user's queues and whatever is assigned to them."""
    return not mine or directory.queue_for(row.queue).id in mine or row.assigned_to == user.id


@require(Role.SPECIALIST)
async def queue_list(request: web.Request) -> web.StreamResponse:
    """By default a member of some queues sees those (ALL_QUEUES: one click to every queue)."""
    d, user = request.app[DESK], current_user(request)
    assert user is not None
    queue = request.query.get("queue", "")
    queue = queue if queue in d.directory.titles() or queue == ALL_QUEUES else ""
    state = request.query.get("state", "")
    state = state if state in STATE_FILTERS else ""
    mine = my_queues(user, d.directory)
    context = {"items": await _list_items(d, user, queue, state, mine),
               "queues": d.directory.queues, "queue": queue, "state": state,
               "my_queues": mine, "all_queues": ALL_QUEUES}
    partial = request.query.get("partial") == "1"
    return aiohttp_jinja2.render_template(
        "desk_list_live.html" if partial else "desk_list.html", request, context)


async def _list_items(d: DeskServices, user: StaffUser, queue: str, state: str,
                      mine: tuple[Queue, ...]) -> list[ListItem]:
    scope = frozenset(q.id for q in mine) if not queue else frozenset()
    rows = await d.queries.open_conversations("" if queue == ALL_QUEUES else queue)
    now = d.clock()
    return [ListItem(r, timing_of(r, d.directory, now), d.directory.queue_for(r.queue).title,
                     client_label(r.client_name, reads_in_full(user, r)))
            for r in rows if _keep(r, state, user) and _in_scope(r, scope, user, d.directory)]


@require(Role.SPECIALIST)
async def conversation(request: web.Request) -> web.StreamResponse:
    d, user = request.app[DESK], current_user(request)
    assert user is not None
    row = await d.queries.conversation(conversation_id(request))
    if row is None or not may_see(user, row):
        return render_error(request, 404, "not_found")
    partial = request.query.get("partial") == "1"
    if not partial:  # the live refreshes of an open page are not views of their own
        await d.log_view(user, row.id)
    context = await _conversation_context(d, user, row)
    context.update(done=request.query.get("done", ""), error=request.query.get("error", ""),
                   confirm=request.query.get("confirm", ""),
                   transferred_away=not partial and await _transferred_away(d, user, row))
    return aiohttp_jinja2.render_template(
        "desk_conversation_live.html" if partial else "desk_conversation.html", request,
        context)


def _shown(d: DeskServices, m: DeskMessage, full: bool, opens: bool, new_conversation: bool,
           public: frozenset[str], known: frozenset[str]) -> ShownMessage:
    at = m.created_at.astimezone(d.zone)
    attachments = m.attachments if full else masked_attachments(m.attachments, public)
    if not opens:
        attachments = tuple((kind, "", name) for kind, _, name in attachments)
    if full:
        return ShownMessage(m, m.text, m.action, attachments, new_conversation, at, opens)
    return ShownMessage(m, masked(m.text, public, known), masked(m.action, public), attachments,
                        new_conversation, at, opens)


async def _messages(d: DeskServices, user: StaffUser, row: DeskRow) -> list[ShownMessage]:
    """The client's history; in full only the conversation assigned to this user, for other
    conversations of the client may have been someone else's. Files likewise: those of this
    conversation for its assignee, every one for administrators (as the route checks)."""
    full, public = reads_in_full(user, row), contacts_of(d.faq.kb)
    files, known = opens_files(user, row), known_name(row.client_name)
    shown, previous = [], None
    for m in await d.queries.messages(row.client_id):
        new = previous is not None and m.conversation_id != previous
        ours = m.conversation_id == row.id
        opens = files and (ours or user.role == Role.ADMIN)
        shown.append(_shown(d, m, full and ours, opens, new, public, known))
        previous = m.conversation_id
    return shown


async def _conversation_context(d: DeskServices, user: StaffUser,
                                row: DeskRow) -> dict[str, Any]:
    may_act = works_on(user, row)
    # Filled with the client's name only for whoever reads it (the assignee): a colleague who
    # may answer a waiting conversation gets «Здравствуйте!» until they take it.
    name = row.client_name if reads_in_full(user, row) else ""
    canned = d.canned.render_all(client_name=name,
                                 specialist_name=user.display_name) if may_act else []
    return {"row": row, "messages": await _messages(d, user, row), "may_act": may_act,
            "client": client_label(row.client_name, reads_in_full(user, row)),
            "may_open_files": opens_files(user, row),
            "canned": canned,
            "timing": timing_of(row, d.directory, d.clock()),
            "queue_title": d.directory.queue_for(row.queue).title,
            "queues": d.directory.queues, "queue_titles": d.directory.titles(),
            "max_chars": MAX_REPLY_CHARS, "form_token": form_token(),
            # A reply still unsent a minute on: the platform is down and it is being retried.
            "stale_before": d.clock() - timedelta(minutes=1),
            "open": row.state != State.CLOSED, "holder": holder_of(row),
            "closed_at": row.closed_at.astimezone(d.zone) if row.closed_at else None,
            # Which button a client pressed, in words (desk_macros.html pressed_label).
            "entry_questions": {e.id: e.question for e in d.faq.kb.entries},
            "category_titles": {c.id: c.title for c in d.faq.kb.categories}}


async def _transferred_away(d: DeskServices, user: StaffUser, row: DeskRow) -> bool:
    """Whether the reply form gives way to a word on taking it back first (handlers/desk.py)."""
    if row.assigned_to is not None or row.state != State.WAITING:
        return False
    return await d.desk.transferred_away(row.id, user.id)


@require(Role.SPECIALIST)
async def attachment(request: web.Request) -> web.StreamResponse:
    """A client's or specialist's file, fetched from the channel that keeps it.

    Files are personal data (photos of passports): only those who may act on the conversation
    see them, and each view is audited.
    """
    d, user = request.app[DESK], current_user(request)
    assert user is not None
    message, index = int(request.match_info["message"]), int(request.match_info["index"])
    found = await d.queries.attachment(message, index)
    row = await d.queries.conversation(found[0]) if found is not None else None
    if found is None or row is None or not found[1].is_file or not may_see(user, row):
        return render_error(request, 404, "not_found")
    if not opens_files(user, row):
        return render_error(request, 403, "files_forbidden")
    source = d.files.get(found[1].source)
    if source is None:
        if not _is_link(found[1].ref):
            return render_error(request, 404, "not_found")
        # VK keeps a client's files at addresses of its own (photos and voice on
        # userapi.com, documents and wall posts on vk.com), open to whoever has the link:
        # the browser is sent there once the view is audited. The address is never on a page.
        await d.log(user, "file_view", row.id, f"message {message} #{index}")
        raise web.HTTPSeeOther(found[1].ref, headers={
            "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"})
    try:
        data = await source.fetch(found[1])
    except FileUnavailable as exc:
        log.warning("desk file %s/%s unavailable: %s", message, index, redact(str(exc)))
        return render_error(request, 410 if exc.permanent else 503, "file_unavailable")
    await d.log(user, "file_view", row.id, f"message {message} #{index}")
    return file_response(data)


def _is_link(ref: str) -> bool:
    return ref.startswith(("https://", "http://")) and not any(c in ref for c in "\r\n")


def setup_routes(app: web.Application) -> None:
    app.router.add_get(r"/desk/files/{message:\d{1,18}}/{index:\d{1,3}}", attachment)
    app.router.add_get("/desk", to_desk)
    app.router.add_get("/desk/", queue_list)
    app.router.add_get(r"/desk/c/{id:\d{1,18}}", conversation)


async def to_desk(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/desk/")
