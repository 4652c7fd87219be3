"""The administrator's pages under /admin/: dashboard, gaps, interaction log, exports, audit,
staff accounts."""

from __future__ import annotations

from aiohttp import web

from analytics.web.deps import ADMIN, AdminDeps


def setup_admin(app: web.Application, deps: AdminDeps) -> None:
    from analytics.web import dashboard, logview, staff

    app[ADMIN] = deps
    dashboard.setup_routes(app)
    logview.setup_routes(app)
    staff.setup_routes(app)
