"""The interaction log, transcripts (masked), erasure on request, knowledge gaps and the audit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web

from analytics.gaps import Cluster, cluster
from analytics.logbook import (
    AuditFilter,
    LogPage,
    LogQuery,
    Transcript,
    audit,
    audit_entries,
    erased_gap_count,
    gap_messages,
    masked_query,
    search,
    searchable,
    staff_names,
    transcript,
)
from analytics.web.deps import ADMIN, AdminDeps, page_context, read_selection
from bots.web.auth import Role, current_user, render_error, require, see_other
from faq.csv_io import drafts_csv
from faq.model import Decision
from storage.staff_posts import forget_left_over

STATES = ("bot", "waiting_specialist", "with_specialist", "closed")
AUDIT_PAGE = 200
_MAX_QUERY = 200


def _actor(request: web.Request) -> str:
    user = current_user(request)
    return user.login if user else "?"


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


@require(Role.ADMIN)
async def log_page(request: web.Request) -> web.StreamResponse:
    deps = request.app[ADMIN]
    sel = await read_selection(request)
    typed = request.query.get("q", "").strip()
    text = typed[:_MAX_QUERY]
    refused = bool(text) and not searchable(text)
    state = request.query.get("state", "")
    q = LogQuery(sel.period, sel.filters, state if state in STATES else "",
                 _int(request.query.get("specialist", "")), "" if refused else text,
                 _int(request.query.get("page", "1")) or 1)
    # A refused query shows nothing: every row would read as if they all matched it.
    page = (LogPage((), 0, 1, 1) if refused
            else await search(deps.sessions, q, deps.institution))
    if text:
        refusal = " (отказано: персональные данные)" if refused else ""
        await audit(deps.sessions, deps.clock(), _actor(request), "search_log", "log", "",
                    f"{sel.query()} q={masked_query(text)}{refusal}", deps.institution)
    context = await page_context(request, sel)
    staff = sorted((await staff_names(deps.sessions)).items(), key=lambda kv: kv[1])
    context.update(page=page, q=q, text=text, refused=refused, states=STATES, staff=staff,
                   cut=len(typed) > _MAX_QUERY, max_query=_MAX_QUERY,
                   base_query=sel.query(q=text, state=q.state,
                                        specialist=str(q.specialist_id or "")))
    return aiohttp_jinja2.render_template("admin_log.html", request, context)


async def _requested_transcript(request: web.Request) -> Transcript | None:
    """The transcript named in the URL, if it exists and belongs to this institution."""
    deps = request.app[ADMIN]
    conversation_id = _int(request.match_info["id"])
    if not conversation_id:
        return None
    return await transcript(deps.sessions, conversation_id, deps.institution,
                            deps.public_contacts())


@require(Role.ADMIN)
async def transcript_page(request: web.Request) -> web.StreamResponse:
    deps = request.app[ADMIN]
    found = await _requested_transcript(request)
    if found is None:
        return render_error(request, 404, "not_found")
    await audit(deps.sessions, deps.clock(), _actor(request), "view_transcript",
                "conversation", str(found.id), "", deps.institution)
    return aiohttp_jinja2.render_template("admin_transcript.html", request, {
        "t": found, "tz": deps.tz, "categories": deps.categories(), "entries": deps.entries(),
        "queue_titles": deps.queues.titles(),
        "erased": request.query.get("erased") == "1", "error": request.query.get("error", "")})


@require(Role.ADMIN)
async def staff_posts_deleted(request: web.Request) -> web.StreamResponse:
    """An administrator deleted by hand what the bot could not (the banner goes)."""
    deps = request.app[ADMIN]
    found = await _requested_transcript(request)
    if found is None:
        return render_error(request, 404, "not_found")
    await forget_left_over(deps.sessions, found.id)
    await audit(deps.sessions, deps.clock(), _actor(request), "staff_posts_deleted",
                "conversation", str(found.id), "", deps.institution)
    return see_other("/admin/")


@require(Role.ADMIN)
async def erase(request: web.Request) -> web.StreamResponse:
    """Erase the client's data on their request; the figures of the dashboard stay."""
    deps = request.app[ADMIN]
    found = await _requested_transcript(request)
    if found is None:
        return render_error(request, 404, "not_found")
    form = await request.post()
    if form.get("confirm") != "yes":
        return see_other(f"/admin/conversations/{found.id}?error=confirm")
    await deps.erase_client(found.client_id, deps.clock())
    await audit(deps.sessions, deps.clock(), _actor(request), "erase_client", "client",
                str(found.client_id), f"from conversation {found.id}", deps.institution)
    return see_other(f"/admin/conversations/{found.id}?erased=1")


@require(Role.ADMIN)
async def gaps_page(request: web.Request) -> web.StreamResponse:
    deps = request.app[ADMIN]
    sel = await read_selection(request)
    messages = await gap_messages(deps.sessions, sel.period, sel.filters, deps.institution)
    erased = await erased_gap_count(deps.sessions, sel.period, sel.filters, deps.institution)
    clusters = await asyncio.to_thread(cluster, messages)
    context: dict[str, Any] = await page_context(request, sel)
    context.update(clusters=clusters, total=len(messages), erased=erased,
                   answered_now=_answered_now(deps, clusters), query=sel.query())
    return aiohttp_jinja2.render_template("admin_gaps.html", request, context)


def _answered_now(deps: AdminDeps, clusters: Sequence[Cluster]) -> list[str]:
    """Per group, the question of the entry the bot now answers its first example with ("" if
    it still would not): entries added since show which gaps are closed."""
    if deps.faq is None:
        return ["" for _ in clusters]
    found = []
    for group in clusters:
        result = deps.faq.match(group.examples[0]) if group.examples else None
        best = result.best if result is not None and result.decision is Decision.ANSWER else None
        entry = deps.faq.kb.entry(best.entry_id) if best is not None else None
        found.append(entry.question if entry is not None else "")
    return found


@require(Role.ADMIN)
async def gaps_csv(request: web.Request) -> web.StreamResponse:
    """The groups the bot still does not answer, as new entries for `faq import`: the question
    and the other wordings as variants; the methodologist adds the category and the answer."""
    deps = request.app[ADMIN]
    sel = await read_selection(request)
    messages = await gap_messages(deps.sessions, sel.period, sel.filters, deps.institution)
    clusters = await asyncio.to_thread(cluster, messages)
    still = [c for c, now in zip(clusters, _answered_now(deps, clusters), strict=True)
             if not now and c.examples]
    text = drafts_csv([(c.examples[0], c.examples[1:]) for c in still])
    return web.Response(body=("\ufeff" + text).encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="gaps.csv"'})


@require(Role.ADMIN)
async def audit_page(request: web.Request) -> web.StreamResponse:
    deps = request.app[ADMIN]
    pages_seen = _int(request.query.get("page", "1")) or 1
    conversation = request.query.get("conversation", "").strip().lstrip("№").strip()
    only = AuditFilter(request.query.get("actor", "").strip()[:64],
                       request.query.get("action", "").strip()[:64],
                       conversation if conversation.isdigit() and len(conversation) <= 18
                       else "")
    rows, total = await audit_entries(deps.sessions, AUDIT_PAGE, deps.institution,
                                      (pages_seen - 1) * AUDIT_PAGE, only)
    pages = max(1, -(-total // AUDIT_PAGE))
    return aiohttp_jinja2.render_template("admin_audit.html", request, {
        "rows": rows, "tz": deps.tz, "total": total, "page": min(pages_seen, pages),
        "pages": pages, "offset": (pages_seen - 1) * AUDIT_PAGE, "only": only,
        "bad_conversation": bool(conversation) and not only.conversation,
        "keep": urlencode({k: v for k, v in (("actor", only.actor), ("action", only.action),
                                             ("conversation", only.conversation)) if v}),
        "queue_titles": deps.queues.titles(), **(await deps.banners())})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/admin/log", log_page)
    app.router.add_get("/admin/conversations/{id}", transcript_page)
    app.router.add_post("/admin/conversations/{id}/erase", erase)
    app.router.add_post("/admin/conversations/{id}/staff-posts-deleted", staff_posts_deleted)
    app.router.add_get("/admin/gaps", gaps_page)
    app.router.add_get("/admin/gaps.csv", gaps_csv)
    app.router.add_get("/admin/audit", audit_page)
