"""Numbers with the Russian decimal comma."""

from __future__ import annotations

import jinja2

from analytics.numbers import add_number_filters, decimal
from priemnaya.webapp import WEB_TEMPLATES


def test_decimal_writes_a_comma() -> None:
    assert decimal(100 * 6 / 17, 1) == "35,3"
    assert decimal(4.5) == "4,5"
    assert decimal(3.0) == "3"
    assert decimal(12, 1) == "12,0"


def test_minutes_are_whole_toward_zero_as_on_the_desk() -> None:
    """The desk read «ответили через 8 мин» for 8.9 minutes, the dashboard «9 мин»."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB_TEMPLATES), autoescape=True)
    add_number_filters(env)
    shown = env.from_string('{% from "admin_macros.html" import mins %}'
                            "{{ mins(8.9) }}|{{ mins(119.6) }}|{{ mins(0.4) }}|{{ mins(None) }}")
    assert shown.render() == "8 мин|1 ч 59 мин|0 мин|—"
