"""The standalone monthly report: one HTML page with figures, inline charts and definitions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import jinja2

from analytics.charts import build_charts, table_rows
from analytics.metrics import Report
from analytics.numbers import add_number_filters
from analytics.records import Dataset

TEMPLATE = "admin_report.html"


def build_environment(template_dirs: Sequence[Path]) -> jinja2.Environment:
    """The same template folders as the web app, so an override of the layout applies here too."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in template_dirs]),
        autoescape=True,
    )
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
