"""Desk actions: take, release, transfer, close, reply, note and suggest for the FAQ."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable

from aiohttp import web
from multidict import MultiDictProxy

from bots.text import to_storable
from bots.web.auth import Role, StaffUser, current_user, render_error, require, see_other
from bots.web.desk import DESK, DeskServices, holder_of, may_see, works_on
from bots.web.desk.uploads import MAX_UPLOAD_BYTES, check_upload
from bots.web.desk.views import MAX_REPLY_CHARS, conversation_id
from handlers.desk import note_of
from handlers.ports import Holder
from storage.desk_queries import DeskRow

Form = MultiDictProxy[str | bytes | bytearray | web.FileField]
# What an action does, given everything it may need; returns the outcome code for the page.
Act = Callable[[DeskServices, StaffUser, DeskRow, Form], Awaitable[str]]
FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # views.form_token()


def _result(row_id: int, outcome: str) -> web.Response:
    """outcome: a notice's code, an error's after «!», or a query of its own after «?»."""
    if outcome.startswith("?"):
        return see_other(f"/desk/c/{row_id}{outcome}")
    key = "error" if outcome.startswith("!") else "done"
    return see_other(f"/desk/c/{row_id}?{key}={outcome.lstrip('!')}")


def action(act: Act, needs_work: bool = True) -> Callable[[web.Request], Awaitable[
        web.StreamResponse]]:
    @require(Role.SPECIALIST)
    async def handler(request: web.Request) -> web.StreamResponse:
        d, user = request.app[DESK], current_user(request)
        assert user is not None
        row = await d.queries.conversation(conversation_id(request))
        if row is None or not may_see(user, row):
            return render_error(request, 404, "not_found")
        if needs_work and not works_on(user, row):
            return _result(row.id, "!not_yours")
        form = await request.post()
        if _changed_since_drawn(form, row):
            return _result(row.id, "!changed")
        return _result(row.id, await act(d, user, row, form))

    return handler


def _changed_since_drawn(form: Form, row: DeskRow) -> bool:
    """A form that carries the holder its page showed (transfer, close), now another: the
    specialist acted on what is no longer so (a colleague's transfer a moment before)."""
    seen = form.get("holder")
    return isinstance(seen, str) and row.state != "closed" and seen != holder_of(row)


def seen_holder(form: Form) -> Holder | None:
    """The holder the page showed, for the store to update only if it still is (none when
    the form carries none, or one it could not have drawn)."""
    seen = form.get("holder")
    if not isinstance(seen, str) or "/" not in seen:
        return None
    queue, _, who = seen.rpartition("/")
    if who and not (who.isdigit() and len(who) < 18):
        return None
    return Holder(queue, int(who) if who else None)


def _text(form: Form, name: str = "text") -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        return ""
    # A form sends line breaks as CRLF; the page's counter and every channel count one each.
    return to_storable(value.replace("\r\n", "\n").replace("\r", "\n").strip())


async def take(d: DeskServices, user: StaffUser, row: DeskRow, form: Form) -> str:
    if not await d.desk.take(row.id, user.id):
        return await _why_not_taken(d, user, row.id)
    await d.log(user, "desk_take", row.id)
    return "taken"


async def _why_not_taken(d: DeskServices, user: StaffUser, row_id: int) -> str:
    # Read again: the row the page was drawn from may be older than the refusal.
    now = await d.queries.conversation(row_id)
    if now is None or now.state == "closed":
        return "!closed"
    return "!already_yours" if now.assigned_to == user.id else "!taken"


async def release(d: DeskServices, user: StaffUser, row: DeskRow, form: Form) -> str:
    if row.assigned_to is None or not await d.desk.release(row.id, by=user.id):
        return "!not_assigned"
    await d.log(user, "desk_release", row.id)
    return "released"


async def transfer(d: DeskServices, user: StaffUser, row: DeskRow, form: Form) -> str:
    queue = _text(form, "queue")
    if not queue:
        return "!no_queue"
    if queue not in {q.id for q in d.directory.queues}:
        return "!unknown_queue"
    if not await d.desk.transfer(row.id, queue, user.id, seen_holder(form)):
        return f"!{await d.desk.why_not_transferred(row.id, queue)}"
    await d.log(user, "desk_transfer", row.id, f"{row.queue} -> {queue}")
    return "transferred"


async def close(d: DeskServices, user: StaffUser, row: DeskRow, form: Form) -> str:
    if form.get("confirmed") != "1":
        return "?confirm=close"  # no undo: the page asks first, saying what the client gets
    if not await d.desk.close(row.id, origin="desk", expected=seen_holder(form)):
        now = await d.queries.conversation(row.id)  # read again: what refused it
        return "!closed" if now is None or now.state == "closed" else "!changed"
    await d.log(user, "desk_close", row.id)
    return "closed"


async def reply(d: DeskServices, user: StaffUser, row: DeskRow, form: Form) -> str:
    """A text starting with «!» is an internal note, as in the Telegram topics."""
    text, key = _text(form), _form_key(form, row)
    written_note = note_of(text)
    if written_note is not None:
        return await _note(d, user, row, written_note, key)
    if not text:
        return "!empty"
    if len(text) > MAX_REPLY_CHARS:
        return "!too_long"
    message_id = await d.desk.reply_message(row.id, user.id, text, origin="desk",
                                            dedupe_key=key)
    if message_id is None:
        return await _why_not_replied(d, user, row, key)
    await d.log(user, "desk_reply", row.id, f"message {message_id}")
    if form.get("suggest_faq") and await d.suggestions.suggest(message_id, user.id, d.clock()):
        await d.log(user, "faq_suggest", row.id, f"message {message_id}")
        return "replied_suggested"
    return "replied"


def _form_key(form: Form, row: DeskRow) -> str | None:
    """A rendered form's one-time token as a dedupe key: a double submit sends once.

    The text is part of it: a page brought back by the browser's Back button keeps its token,
    and a different text written there is a new message.
    """
    token = _text(form, "form_token")
    if not FORM_TOKEN.fullmatch(token):
        return None
    digest = hashlib.sha256(_text(form).encode()).hexdigest()[:16]
    return f"desk:{row.id}:{token}:{digest}"


async def _why_not_replied(d: DeskServices, user: StaffUser, row: DeskRow,
                           key: str | None) -> str:
    if key is not None and await d.queries.keyed_message(key) is not None:
        return "replied"  # the same form posted twice: answered like the first post
    return f"!{await d.desk.why_not_sent(row.id, user.id)}"


async def send_file(d: DeskServices, user: StaffUser, row: DeskRow, form: Form) -> str:
    """A file (a blank form, a sample) to the client, with an optional caption."""
    field, caption = form.get("file"), _text(form)
    if not isinstance(field, web.FileField) or not field.filename or d.uploads is None:
        return "!no_file"
    found = check_upload(field.filename, field.file.read(MAX_UPLOAD_BYTES + 1))
    if isinstance(found, str):
        return found
    if len(caption) > MAX_REPLY_CHARS:
        return "!too_long"
    if note_of(caption) is not None:
        return "!note_caption"  # «!» marks a note: a caption so written is not for the client
    name, mime, content = found
    attachment = await d.uploads.save(name, mime, content, user.id, d.clock())
    message_id = await d.desk.reply_message(row.id, user.id, caption, origin="desk",
                                            attachments=(attachment,))
    if message_id is None:
        return f"!{await d.desk.why_not_sent(row.id, user.id)}"
    await d.log(user, "desk_file", row.id, f"message {message_id}: {name} ({len(content)} B)")
    return "file_sent"


async def note(d: DeskServices, user: StaffUser, row: DeskRow, form: Form) -> str:
    return await _note(d, user, row, _text(form), _form_key(form, row))


async def _note(d: DeskServices, user: StaffUser, row: DeskRow, text: str,
                key: str | None) -> str:
    if not text or len(text) > MAX_REPLY_CHARS:
        return "!empty" if not text else "!too_long"
    if not await d.desk.note(row.id, user.id, text, origin="desk", dedupe_key=key):
        stored = key is not None and await d.queries.keyed_message(key) is not None
        return "noted" if stored else "!empty"
    await d.log(user, "desk_note", row.id)
    return "noted"


async def suggest(d: DeskServices, user: StaffUser, row: DeskRow, form: Form) -> str:
    value = _text(form, "message_id")
    message = await d.queries.message(int(value)) if value.isdigit() and len(value) < 18 \
        else None
    if message is None or message.conversation_id != row.id:
        return "!not_suggestable"
    if await d.suggestions.suggest(message.id, user.id, d.clock()) is None:
        return "!not_suggestable"
    await d.log(user, "faq_suggest", row.id, f"message {message.id}")
    return "suggested"


def setup_routes(app: web.Application) -> None:
    base = r"/desk/c/{id:\d{1,18}}/"
    for name, act, needs_work in (
        ("take", take, False), ("release", release, True), ("transfer", transfer, True),
        ("close", close, True), ("reply", reply, True), ("note", note, True),
        ("send_file", send_file, True),
        ("suggest", suggest, False),
    ):
        app.router.add_post(base + name, action(act, needs_work))
