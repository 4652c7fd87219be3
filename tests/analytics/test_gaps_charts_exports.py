"""Clustering of knowledge gaps, the SVG charts and the export formats."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import zipfile
from datetime import UTC, date, datetime, timedelta

from openpyxl import load_workbook

from analytics.charts import Chart, Series, build_charts
from analytics.exports import Table, daily_table, to_csv, to_xlsx
from analytics.gaps import GapMessage, cluster, normalize
from analytics.metrics import compute
from analytics.retention import build_retention_job
from handlers.pii import MaskingFilter
from priemnaya.analytics_setup import install_log_masking
from tests.analytics.conftest import november


def test_normalize_ignores_case_order_and_stop_words() -> None:
    assert normalize("Где взять СПРАВКУ о составе семьи?") == \
        normalize("справка о составе семьи, где взять")


def test_similar_questions_form_one_cluster_sorted_by_size() -> None:
    messages = [
        GapMessage("Где получить справку о составе семьи?", "no_match"),
        GapMessage("компенсация за газ пенсионеру", "clarify"),
        GapMessage("справка о составе семьи где взять", "no_match"),
        GapMessage("Справку о составе семьи где заказать? тел. 8 912 345 67 89", "clarify"),
        GapMessage("!!!", "no_match"),
    ]
    clusters = cluster(messages)
    assert [c.size for c in clusters] == [3, 1]
    top = clusters[0]
    assert (top.no_match, top.clarify) == (2, 1)
    assert top.examples[2] == "Справку о составе семьи где заказать? тел. [телефон]"


def test_examples_are_capped_at_three() -> None:
    clusters = cluster([GapMessage(f"пособие на ребенка {i}", "no_match") for i in range(5)])
    assert clusters[0].size == 5
    assert len(clusters[0].examples) == 3


def test_chart_svg_and_alt_text() -> None:
    chart = Chart("x", "Оценки", ("1", "2"), (Series("Оценок <b>", (0.0, 3.0)),))
    svg = chart.svg()
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "Оценок &lt;b&gt;" in svg
    assert svg.count("<rect") == 2 + 1 + 1  # background, legend, two bars
    assert chart.alt == "Оценки. Оценок <b>: 2 3"
    assert chart.data_uri().startswith("data:image/svg+xml;base64,")
    halves = Chart("y", "Минуты", ("1",), (Series("Минут", (1.5,)),))
    assert "1,5" in halves.svg() and "1.5" not in halves.svg()  # the Russian decimal comma


def ticks(chart: Chart) -> list[str]:
    return re.findall(r'text-anchor="end">([^<]+)<', chart.svg())


def test_count_axes_have_whole_ticks() -> None:
    """A top of 449 messages made a middle tick of «224,5»; one rating, «0,5»."""
    messages = Chart("m", "Сообщения", ("0", "1"), (Series("Сообщения", (449.0, 3.0)),))
    assert ticks(messages) == ["225", "450"]
    ratings = Chart("r", "Оценки", ("1", "2"), (Series("Оценок", (0.0, 1.0)),))
    assert ticks(ratings) == ["1", "2"]
    assert ticks(Chart("e", "Оценки", ("1",), (Series("Оценок", (0.0,)),))) == ["1", "2"]
    assert ticks(Chart("d", "Дни", ("1", "2"), (Series("Дни", (0.0, 8.0)),))) == ["4", "8"]


def test_csv_is_excel_friendly_and_defuses_formulas() -> None:
    text = to_csv(Table("t", ("a", "b", "c"), (("=HYPERLINK(1)", True, None), (-1, 2.5, "x"))))
    assert text == "\ufeffa;b;c\r\n'=HYPERLINK(1);1;\r\n-1;2,5;x\r\n"


def test_xlsx_keeps_a_formula_shaped_text_as_text() -> None:
    evil = '=HYPERLINK("http://evil.example/z","Иванова")'
    data = to_xlsx([Table("t", ("Специалист", "n"), ((evil, 1), ("+7 912", 2)))])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    sheet = load_workbook(io.BytesIO(data))["t"]
    assert (sheet["A2"].value, sheet["A2"].data_type) == (evil, "s")
    assert sheet["A3"].value == "+7 912"


def test_xlsx_writes_dates_as_excel_dates_and_csv_as_text() -> None:
    table = Table("t", ("Открыто", "День", "n"),
                  ((datetime(2026, 11, 2, 9, 5), date(2026, 11, 2), 1), (None, None, 2)))
    sheet = load_workbook(io.BytesIO(to_xlsx([table])))["t"]
    opened, day = sheet["A2"], sheet["B2"]
    assert (opened.value, opened.is_date, opened.number_format) == (
        datetime(2026, 11, 2, 9, 5), True, "DD.MM.YYYY HH:MM")
    assert (day.value, day.is_date, day.number_format) == (
        datetime(2026, 11, 2), True, "DD.MM.YYYY")
    assert sheet.column_dimensions["A"].width >= 16
    assert sheet["A3"].value is None
    assert to_csv(table).splitlines()[1] == "2026-11-02 09:05;2026-11-02;1"


async def test_retention_job_runs_and_survives_a_failure() -> None:
    calls: list[datetime] = []
    second_call = asyncio.Event()

    class Broken:
        def __call__(self) -> object:  # the sessionmaker: the database is away
            calls.append(datetime.now(UTC))
            if len(calls) >= 2:
                second_call.set()
            raise OSError("database away")

    job = build_retention_job(Broken(), lambda: datetime.now(UTC), 30,  # type: ignore[arg-type]
                              every=timedelta(seconds=0))
    task = asyncio.create_task(job())
    await asyncio.wait_for(second_call.wait(), 5)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert len(calls) >= 2



async def test_daily_export_is_the_daily_chart(sessions, logged, queues) -> None:
    report = compute(await november(sessions), queues)
    daily = next(c for c in build_charts(report) if c.id == "daily")
    table = daily_table(report)
    assert [row[1] for row in table.rows] == list(daily.series[0].values)
    assert [row[3] for row in table.rows] == list(daily.series[1].values)
    assert [row[4] for row in table.rows] == list(daily.series[2].values)


def test_log_masking_is_installed_on_the_root_handlers() -> None:
    handler = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_log_masking()
        install_log_masking()
        assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1
        logging.getLogger("some.child").warning("from ivan@mail.ru")
        assert handler.stream.getvalue() == "from [e-mail]\n"
    finally:
        root.removeHandler(handler)
