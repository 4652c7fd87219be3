"""CSV and XLSX exports: one row per conversation, and the daily series behind the charts."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from analytics.metrics import Report
from analytics.records import Dataset

# Headers as an administrator reads them in Excel; docs/analytics.md says what each one is.
CONVERSATION_COLUMNS = (
    "№ обращения", "Канал", "Категория", "Очередь", "Срочное", "Открыто", "Первый ответ",
    "Закрыто", "Первый ответ, мин", "Первый ответ в рабочее время, мин", "Решено за, мин",
    "Оценка", "Специалист", "В срок",
)
DAILY_COLUMNS = ("День", "Обращения", "Сообщения клиентов", "Переданы специалисту",
                 "Решены ботом")
CHANNELS = {"vk": "ВКонтакте", "telegram": "Telegram", "web": "Веб-чат", "max": "MAX"}
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
Cell = str | int | float | bool | date | datetime | None
# Excel's own date cells, shown as a Russian reader writes them; sorting and filtering by date
# work on them, which they do not on text.
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
DATE_FORMAT = "DD.MM.YYYY"
_DATE_COLUMN_WIDTH = 17


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


def _local(at: datetime | None, tz: ZoneInfo) -> datetime | None:
    """Local wall-clock time without a zone: spreadsheets have no time zones."""
    return at.astimezone(tz).replace(tzinfo=None) if at else None


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _yes(value: bool | None) -> str | None:
    """«да»/«нет»: a Russian Excel shows booleans as ИСТИНА/ЛОЖЬ and CSV as 1/0."""
    return None if value is None else ("да" if value else "нет")


def conversation_table(data: Dataset, report: Report,
                       queues: Mapping[str, str] | None = None) -> Table:
    """One row per conversation; `queues` gives the queues' titles by id."""
    queues = queues or {}
    tz = data.period.tz
    rows = []
    for c in data.conversations:
        t = report.timings[c.id]
        rows.append((
            c.id, CHANNELS.get(c.channel, c.channel), data.categories.get(c.category, c.category),
            queues.get(c.queue, c.queue), _yes(c.urgent),
            _local(c.opened_at, tz), _local(c.first_reply_at, tz), _local(c.closed_at, tz),
            _minutes(t.first_response), _minutes(t.first_response_working),
            _minutes(t.resolution), c.rating,
            ", ".join(data.specialists.get(sid, f"#{sid}") for sid in c.repliers),
            _yes(t.within_target),
        ))
    return Table("Обращения", CONVERSATION_COLUMNS, tuple(rows))


def daily_table(report: Report) -> Table:
    return Table("По дням", DAILY_COLUMNS, tuple(
        (d.day, d.conversations, d.client_messages, d.escalated, d.resolved_by_faq)
        for d in report.daily))


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # Excel with Russian regional settings reads "2.6" as a date (2 June): a comma.
        return str(value).replace(".", ",")
    text = str(value)
    # A text cell starting like a formula would run in the spreadsheet (CSV injection).
    return f"'{text}" if isinstance(value, str) and text.startswith(_FORMULA) else text


def to_csv(table: Table) -> str:
    """Semicolon-separated with a BOM: what Excel in a Russian locale opens correctly."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(table.columns)
    writer.writerows([_text(v) for v in row] for row in table.rows)
    return out.getvalue()


def to_xlsx(tables: Sequence[Table]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for table in tables:
        sheet = book.create_sheet(table.name)
        _widen_date_columns(sheet, table)
        sheet.append(list(table.columns))
        for row in table.rows:
            sheet.append([_xlsx_cell(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(sheet: Any, value: Cell) -> object:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str) and value.startswith("="):
        # openpyxl stores a text starting with «=» as a formula, which Excel would run
        # (a specialist's name from Telegram is enough): kept as text, shown as written.
        text = WriteOnlyCell(sheet, value)
        text.data_type = "s"
        return text
    if not isinstance(value, date):
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.number_format = DATETIME_FORMAT if isinstance(value, datetime) else DATE_FORMAT
    return cell


def _widen_date_columns(sheet: Any, table: Table) -> None:
    """Else Excel shows a date too wide for its column as «########»."""
    from openpyxl.utils import get_column_letter

    for i in range(len(table.columns)):
        if any(isinstance(row[i], date) for row in table.rows):
            sheet.column_dimensions[get_column_letter(i + 1)].width = _DATE_COLUMN_WIDTH
