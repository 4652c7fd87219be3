"""Administrators review specialists' replies proposed for the knowledge base."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

from bots.web.auth import Role, StaffUser, current_user, render_error, require, see_other
from bots.web.desk import DESK, DeskServices
from bots.web.desk.masking import masked
from faq.model import Entry
from handlers.pii import ADDRESS, EMAIL, PHONE, contacts_of, mask, mask_labels, personal_data
from handlers.ports import EntryIdTaken
from storage.faq_suggestions import Suggestion, SuggestionStatus

log = logging.getLogger(__name__)

ENTRY_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,127}$")
MAX_FIELD = 4000
# An answer may give the institution's own phone or e-mail; nothing else personal belongs in
# a knowledge base that every client reads (a question: nothing personal at all).
_CONTACTS = frozenset({PHONE, EMAIL, ADDRESS})  # an answer gives the institution's own
_MARKUP = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>|<!--")  # a tag, not «< 18 лет»


def default_entry_id(s: Suggestion) -> str:
    if s.entry_id:
        return s.entry_id
    return f"{s.category}.suggested-{s.id}" if s.category else f"suggested-{s.id}"


@dataclass(frozen=True, slots=True)
class SuggestionForm:
    """A suggestion's form as the page offers it, or as the administrator last sent it."""

    suggestion: Suggestion
    question: str
    answer: str
    category: str
    entry_id: str
    masked: bool  # the client's personal data was taken out of the offered question


def offered(s: Suggestion, public: frozenset[str] = frozenset()) -> SuggestionForm:
    # The question is a client's message, the answer may name or call back the client: both
    # offered masked (but for the institution's own contacts), since they become public text
    # and the administrator reading them is not the conversation's specialist.
    question, answer = mask(s.question, names=True), masked(s.answer, public)
    return SuggestionForm(s, question, answer, s.category, default_entry_id(s),
                          (question, answer) != (s.question, s.answer))


def sent_back(edited: Suggestion) -> SuggestionForm:
    return SuggestionForm(edited, edited.question, edited.answer, edited.category,
                          edited.entry_id, masked=False)


@require(Role.ADMIN)
async def suggestions_page(request: web.Request) -> web.StreamResponse:
    return await _page(request, request.query.get("done", ""), request.query.get("error", ""),
                       request.query.get("id", ""))


async def _page(request: web.Request, done: str, error: str, error_id: str,
                edited: Suggestion | None = None, status: int = 200) -> web.StreamResponse:
    d = request.app[DESK]
    public = contacts_of(d.faq.kb)
    forms = [sent_back(edited) if edited is not None and s.id == edited.id
             else offered(s, public) for s in await d.suggestions.pending()]
    return aiohttp_jinja2.render_template("desk_suggestions.html", request, {
        "forms": forms, "categories": d.faq.kb.categories, "editor": d.kb_editor is not None,
        "done": done, "error": error, "error_id": error_id}, status=status)


def _field(form: object, name: str) -> str:
    value = form.get(name, "") if hasattr(form, "get") else ""
    return value.strip()[:MAX_FIELD] if isinstance(value, str) else ""


def _result(outcome: str, suggestion_id: int) -> web.Response:
    key = "error" if outcome.startswith("!") else "done"
    return see_other(f"/desk/suggestions?{key}={outcome.lstrip('!')}&id={suggestion_id}")


@require(Role.ADMIN)
async def accept(request: web.Request) -> web.StreamResponse:
    d, user = request.app[DESK], current_user(request)
    assert user is not None
    found = await d.suggestions.get(int(request.match_info["id"]))
    if found is None:
        return render_error(request, 404, "not_found")
    form = await request.post()
    edited = Suggestion(found.id, found.conversation_id, found.message_id,
                        _field(form, "question"), _field(form, "answer"),
                        _field(form, "category"), _field(form, "entry_id"), found.status,
                        found.suggested_by, found.created_at)
    outcome = await _accept(d, user, edited)
    if outcome.startswith("!"):
        # Shown again as sent, with what to correct: a redirect would lose the edits.
        return await _page(request, "", outcome[1:], str(found.id), edited, status=422)
    return _result(outcome, found.id)


async def _accept(d: DeskServices, user: StaffUser, s: Suggestion) -> str:
    if d.kb_editor is None:
        return "!no_editor"
    if not s.question or not s.answer:
        return "!empty"
    if personal_data(s.question, names=True):
        return "!personal_question"
    if _MARKUP.search(s.question) or _MARKUP.search(s.answer):
        # Every channel shows a knowledge-base text as plain text: a tag reads as «<b>».
        return "!markup"
    if mask_labels(s.question) or mask_labels(s.answer):
        # «[телефон]» in a client's button reads as a broken text: the administrator rewrites it.
        return "!mask_left"
    # A specialist's reply greets its client by name ("Здравствуйте, Анна Петровна!"): in the
    # knowledge base every client would read it.
    if set(personal_data(s.answer, names=True)) - _CONTACTS:
        return "!personal_answer"
    if d.faq.kb.category(s.category) is None:
        return "!unknown_category"
    if not ENTRY_ID.match(s.entry_id):
        return "!bad_entry_id"
    if d.faq.kb.entry(s.entry_id) is not None:
        return "!entry_exists"
    editor, entry = d.kb_editor, Entry(s.entry_id, s.category, s.question, s.answer)
    try:
        # Written before the acceptance commits: a failed write leaves the suggestion new.
        if not await d.suggestions.review(s.id, SuggestionStatus.ACCEPTED, user.id, d.clock(),
                                          s, publish=lambda: editor.add_entry(entry)):
            return "!reviewed"
    except EntryIdTaken:
        return "!entry_exists"  # added meanwhile, by another administrator or replica
    except Exception:
        log.exception("suggestion %s could not be added to the knowledge base", s.id)
        return "!add_failed"
    await d.audit.write(user.login, "faq_accept", d.clock(), "faq_suggestion", str(s.id),
                        s.entry_id)
    return "accepted"


@require(Role.ADMIN)
async def reject(request: web.Request) -> web.StreamResponse:
    d, user = request.app[DESK], current_user(request)
    assert user is not None
    suggestion_id = int(request.match_info["id"])
    if not await d.suggestions.review(suggestion_id, SuggestionStatus.REJECTED, user.id,
                                      d.clock()):
        if await d.suggestions.get(suggestion_id) is None:
            return render_error(request, 404, "not_found")  # as accept answers
        return _result("!reviewed", suggestion_id)
    await d.audit.write(user.login, "faq_reject", d.clock(), "faq_suggestion",
                        str(suggestion_id))
    return _result("rejected", suggestion_id)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/desk/suggestions", suggestions_page)
    app.router.add_post(r"/desk/suggestions/{id:\d{1,18}}/accept", accept)
    app.router.add_post(r"/desk/suggestions/{id:\d{1,18}}/reject", reject)
