"""Administrators review specialists' replies proposed for the knowledge base."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import aiohttp_jinja2
from aiohttp import web

from bots.web.auth import Role, StaffUser, current_user, render_error, require, see_other
from bots.web.desk import DESK, DeskServices
from bots.web.desk.masking import masked
from bots.web.desk.suggestion_form import (
    MAX_FIELD,
    Draft,
    Refusal,
    default_category,
    parse_keywords,
    parse_variants,
    refusal,
)
from faq.model import KnowledgeBase
from handlers.faq_ports import EntryIdTaken, KnowledgeBaseBroken
from handlers.pii import contacts_of, mask
from storage.faq_suggestions import Suggestion, SuggestionStatus

log = logging.getLogger(__name__)


def default_entry_id(s: Suggestion, category: str) -> str:
    if s.entry_id:
        return s.entry_id
    return f"{category}.suggested-{s.id}" if category else f"suggested-{s.id}"


@dataclass(frozen=True, slots=True)
class SuggestionForm:
    """A suggestion's form as the page offers it, or as the administrator last sent it."""

    suggestion: Suggestion
    draft: Draft
    masked: bool  # the client's personal data was taken out of the offered question


def offered(s: Suggestion, kb: KnowledgeBase, public: frozenset[str]) -> SuggestionForm:
    # The question is a client's message, the answer may name or call back the client: both
    # offered masked (but for the institution's own contacts), since they become public text
    # and the administrator reading them is not the conversation's specialist.
    question, answer = mask(s.question, names=True), masked(s.answer, public)
    category = default_category(s.category, s.queue, kb)
    # The client's own words stay a variant when the administrator rewrites the question
    # (the matcher finds entries by their questions and variants); unchanged, it is dropped.
    variants = (question,) if question else ()
    draft = Draft(question, answer, category, default_entry_id(s, category), variants)
    return SuggestionForm(s, draft, (question, answer) != (s.question, s.answer))


@require(Role.ADMIN)
async def suggestions_page(request: web.Request) -> web.StreamResponse:
    error, error_id = request.query.get("error", ""), request.query.get("id", "")
    return await _page(request, request.query.get("done", ""),
                       Refusal(error) if error else None, error_id)


async def _page(request: web.Request, done: str, refused: Refusal | None, error_id: str,
                sent: SuggestionForm | None = None, status: int = 200) -> web.StreamResponse:
    d = request.app[DESK]
    kb = d.faq.kb
    public = contacts_of(kb)
    forms = [sent if sent is not None and s.id == sent.suggestion.id
             else offered(s, kb, public) for s in await d.suggestions.pending()]
    return aiohttp_jinja2.render_template("desk_suggestions.html", request, {
        "forms": forms, "categories": kb.categories, "editor": d.kb_editor is not None,
        "done": done, "refused": refused, "error_id": error_id,
        "kb_failure": d.kb_failure()}, status=status)


def _field(form: object, name: str, limit: int = MAX_FIELD) -> str:
    value = form.get(name, "") if hasattr(form, "get") else ""
    return value.strip()[:limit] if isinstance(value, str) else ""


def _draft(form: object) -> Draft:
    # Read past the limits, to be refused with them rather than cut short unseen.
    lists = MAX_FIELD * 4
    return Draft(_field(form, "question"), _field(form, "answer"), _field(form, "category"),
                 _field(form, "entry_id"), parse_variants(_field(form, "variants", lists)),
                 parse_keywords(_field(form, "keywords", lists)))


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
    draft = _draft(await request.post())
    refused = await _accept(d, user, found, draft)
    if refused is not None:
        # Shown again as sent, with what to correct: a redirect would lose the edits.
        return await _page(request, "", refused, str(found.id),
                           SuggestionForm(found, draft, masked=False), status=422)
    return _result("accepted", found.id)


async def _accept(d: DeskServices, user: StaffUser, found: Suggestion,
                  draft: Draft) -> Refusal | None:
    if d.kb_editor is None:
        return Refusal("no_editor")
    refused = refusal(draft, d.faq.kb)
    if refused is not None:
        return refused
    editor, entry = d.kb_editor, draft.to_entry()
    edited = dataclasses.replace(found, question=draft.question, answer=draft.answer,
                                 category=draft.category, entry_id=draft.entry_id)
    try:
        # Written before the acceptance commits: a failed write leaves the suggestion new.
        if not await d.suggestions.review(found.id, SuggestionStatus.ACCEPTED, user.id,
                                          d.clock(), edited,
                                          publish=lambda: editor.add_entry(entry)):
            return Refusal("reviewed")
    except EntryIdTaken:
        return Refusal("entry_exists")  # added meanwhile, by another administrator or replica
    except Exception as exc:
        log.exception("suggestion %s could not be added to the knowledge base", found.id)
        return _failed(d, exc)
    await d.audit.write(user.login, "faq_accept", d.clock(), "faq_suggestion", str(found.id),
                        draft.entry_id)
    return None


def _failed(d: DeskServices, exc: Exception) -> Refusal:
    """A knowledge base whose files do not load takes no entry: the page names the files and
    their problems, which an administrator can correct (a disk error goes to the log)."""
    failure = d.kb_failure()
    problems = exc.problems if isinstance(exc, KnowledgeBaseBroken) else \
        failure.problems if failure is not None else ()
    return Refusal("kb_broken", problems=problems) if problems else Refusal("add_failed")


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
