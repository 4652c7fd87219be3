"""The dashboard (/admin/) and the exports of its figures."""

from __future__ import annotations

import asyncio

import aiohttp_jinja2
from aiohttp import web

from analytics.charts import build_charts, table_rows
from analytics.exports import conversation_table, daily_table, to_csv, to_xlsx
from analytics.logbook import audit
from analytics.metrics import Report, compute
from analytics.queries import load_dataset
from analytics.records import Dataset
from analytics.web.deps import ADMIN, Selection, page_context, read_selection
from bots.web.auth import Role, current_user, require

EXPORTS = ("conversations.csv", "daily.csv", "report.xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _report(request: web.Request) -> tuple[Selection, Dataset, Report]:
    deps = request.app[ADMIN]
    now = deps.clock()
    sel = await read_selection(request)
    data = await load_dataset(deps.sessions, sel.period, sel.filters, now, deps.institution,
                              deps.categories())
    # Working-time arithmetic over thousands of conversations must not stall the event loop.
    report = await asyncio.to_thread(compute, data, deps.queues)
    return sel, data, report


@require(Role.ADMIN)
async def dashboard(request: web.Request) -> web.StreamResponse:
    sel, data, report = await _report(request)
    context = await page_context(request, sel)
    context.update(report=report, charts=build_charts(report), table_rows=table_rows,
                   specialists=data.specialists)
    return aiohttp_jinja2.render_template("admin_dashboard.html", request, context)


@require(Role.ADMIN)
async def export_page(request: web.Request) -> web.StreamResponse:
    sel = await read_selection(request)
    return aiohttp_jinja2.render_template("admin_export.html", request,
                                          await page_context(request, sel))


@require(Role.ADMIN)
async def export_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in EXPORTS:
        raise web.HTTPNotFound()
    sel, data, report = await _report(request)
    deps = request.app[ADMIN]
    tables = {"conversations.csv": conversation_table(data, report, deps.queues.titles()),
              "daily.csv": daily_table(report)}
    if name == "report.xlsx":
        body = await asyncio.to_thread(to_xlsx, list(tables.values()))
        content_type = XLSX
    elif name in tables:
        body, content_type = to_csv(tables[name]).encode("utf-8"), "text/csv"
    else:
        raise web.HTTPNotFound()
    await _audit_export(request, sel, name)
    stem = f"priemnaya-{sel.period.first}-{sel.period.last}-{name}"
    return web.Response(body=body, content_type=content_type, charset=None if
                        name.endswith("xlsx") else "utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{stem}"'})


async def _audit_export(request: web.Request, sel: Selection, name: str) -> None:
    deps = request.app[ADMIN]
    user = current_user(request)
    await audit(deps.sessions, deps.clock(), user.login if user else "?", "export",
                "export", name, sel.query(), deps.institution)


async def to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/admin/")


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/admin/", dashboard, name="admin_dashboard")
    app.router.add_get("/admin", to_dashboard)
    app.router.add_get("/admin/export", export_page)
    app.router.add_get("/admin/export/{name}", export_file)
