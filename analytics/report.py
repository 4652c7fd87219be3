"""The standalone monthly report: one HTML page with figures, inline charts and definitions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import jinja2

from analytics.charts import build_charts, table_rows
from analytics.metrics import Report
from analytics.numbers import add_number_filters
from analytics.records import Dataset
from bots.web.pages import PageLoader, PageTemplate
from handlers.texts import BrokenTemplate

TEMPLATE = "admin_report.html"


def build_environment(
    builtin: Path, override: Path | None,
    on_broken: Callable[[BrokenTemplate], None] | None = None,
) -> jinja2.Environment:
    """The same template folders and the same rule as the web app: an override of the layout
    applies here too, and one that fails gives way to the built-in template."""
    env = jinja2.Environment(loader=PageLoader(builtin, override, on_broken), autoescape=True)
    env.template_class = PageTemplate
    add_number_filters(env)
    return env


def render_html(
    env: jinja2.Environment, data: Dataset, report: Report, institution: str,
    generated_at: datetime,
) -> str:
    return env.get_template(TEMPLATE).render(
        data=data, report=report, charts=build_charts(report), table_rows=table_rows,
        institution=institution, generated_at=generated_at.astimezone(data.period.tz),
        tz=data.period.tz, categories=data.categories,
    )
