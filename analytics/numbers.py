"""Numbers on the staff pages and in the report as Russian texts write them: «35,3 %»."""

from __future__ import annotations

import jinja2


def decimal(value: float, digits: int | None = None) -> str:
    """The number with a decimal comma, like the CSV exports (analytics/exports.py); with
    `digits`, rounded to that many places, else as short as it reads exactly (%g)."""
    text = f"{value:.{digits}f}" if digits is not None else f"{value:g}"
    return text.replace(".", ",")


def add_number_filters(env: jinja2.Environment) -> None:
    env.filters["decimal"] = decimal
