"""Bar charts as hand-written SVG: no heavy import, Cyrillic labels in the browser's own fonts."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from analytics.metrics import Report

WIDTH, HEIGHT = 720, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 12, 28, 40
_COLOURS = ("#1d4f91", "#e07b00", "#2e8540")
WEEKDAYS = ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Chart:
    """One picture with its alt text and the table of the same numbers shown beside it."""

    id: str
    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]

    @property
    def alt(self) -> str:
        parts = [f"{s.name}: " + ", ".join(f"{label} {_num(v)}" for label, v in
                                           zip(self.labels, s.values, strict=True) if v)
                 for s in self.series]
        return f"{self.title}. " + "; ".join(parts)

    def svg(self) -> str:
        return render_bars(self)

    def data_uri(self) -> str:
        encoded = base64.b64encode(self.svg().encode("utf-8")).decode("ascii")
        return f"data:image/svg+xml;base64,{encoded}"


def _num(value: float) -> str:
    return f"{value:g}".replace(".", ",")  # «10,5»: the Russian decimal comma


def render_bars(chart: Chart) -> str:
    """Grouped bars, one colour per series, a legend at the top and every n-th label."""
    n, k = len(chart.labels), max(1, len(chart.series))
    top = axis_top([v for s in chart.series for v in s.values])
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    slot = plot_w / max(n, 1)
    bar = max(1.0, slot * 0.8 / k)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
           f"<title>{escape(chart.title)}</title>",
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>']
    out += _axis(top, plot_h)
    for j, series in enumerate(chart.series):
        colour = _COLOURS[j % len(_COLOURS)]
        out.append(f'<rect x="{_LEFT + j * 150}" y="6" width="10" height="10" fill="{colour}"/>'
                   f'<text x="{_LEFT + 14 + j * 150}" y="15">{escape(series.name)}</text>')
        for i, value in enumerate(series.values):
            h = plot_h * value / top
            x = _LEFT + i * slot + slot * 0.1 + j * bar
            out.append(f'<rect x="{x:.1f}" y="{_TOP + plot_h - h:.1f}" width="{bar:.1f}" '
                       f'height="{h:.1f}" fill="{colour}"/>')
    step = max(1, -(-n // 12))  # at most a dozen labels, or they overlap
    for i in range(0, n, step):
        x = _LEFT + i * slot + slot / 2
        out.append(f'<text x="{x:.1f}" y="{HEIGHT - _BOTTOM + 14}" text-anchor="middle">'
                   f"{escape(chart.labels[i])}</text>")
    out.append("</svg>")
    return "".join(out)


def axis_top(values: Sequence[float]) -> float:
    """The value at the top of the axis, whose half is the middle tick: counts (whole
    numbers) get an even top, so no tick reads «224,5» messages or «0,5» ratings."""
    top = max([*values, 1])
    if all(float(v).is_integer() for v in values):
        return float(2 * math.ceil(top / 2))
    return top


def _axis(top: float, plot_h: float) -> list[str]:
    base = _TOP + plot_h
    lines = [f'<line x1="{_LEFT}" y1="{base}" x2="{WIDTH - _RIGHT}" y2="{base}" stroke="#555"/>']
    for frac in (0.5, 1.0):
        y = base - plot_h * frac
        lines.append(f'<line x1="{_LEFT}" y1="{y:.1f}" x2="{WIDTH - _RIGHT}" y2="{y:.1f}" '
                     f'stroke="#ddd"/><text x="{_LEFT - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{_num(round(top * frac, 1))}</text>')
    return lines


def build_charts(report: Report) -> list[Chart]:
    """The dashboard's pictures; their tables come from the same Chart objects."""
    days = tuple(f"{d.day:%d.%m}" for d in report.daily)
    daily = Chart("daily", "Обращения по дням", days, (
        Series("Обращения", tuple(float(d.conversations) for d in report.daily)),
        Series("Переданы специалисту", tuple(float(d.escalated) for d in report.daily)),
        Series("Решены ботом", tuple(float(d.resolved_by_faq) for d in report.daily)),
    ))
    hours = Chart("hours", "Сообщения клиентов по часам", tuple(f"{h}" for h in range(24)),
                  (Series("Сообщения", tuple(map(float, report.by_hour))),))
    weekdays = Chart("weekdays", "Сообщения клиентов по дням недели", WEEKDAYS,
                     (Series("Сообщения", tuple(map(float, report.by_weekday))),))
    ratings = Chart("ratings", "Оценки", ("1", "2", "3", "4", "5"),
                    (Series("Оценок", tuple(map(float, report.ratings.distribution))),))
    return [daily, hours, weekdays, ratings]


def table_rows(chart: Chart) -> Sequence[tuple[str, tuple[float, ...]]]:
    return [(label, tuple(s.values[i] for s in chart.series))
            for i, label in enumerate(chart.labels)]
