"""Checks that a conversation started by a message with a wrong platform date is today's."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from analytics.logbook import LogQuery, search
from analytics.queries import load_dataset
from analytics.records import Filters, Period
from analytics.retention import purge_raw_texts
from priemnaya.runtime import Runtime
from storage.models import Message

YEAR_AGO = int(time.time()) - 366 * 24 * 3600
# The epoch's first second, and a year ago: what the acceptance test saw from VK and Telegram.
WRONG_DATES = [1, YEAR_AGO]


async def assert_dated_today(rt: Runtime, text: str) -> None:
    """On today's admin log and dashboard, and the start-up retention run keeps its text."""
    now = rt.clock()
    tz = ZoneInfo(rt.settings.institution.timezone)
    today = now.astimezone(tz).date()
    period = Period(today, today, tz)
    page = await search(rt.sessions, LogQuery(period, Filters()))
    assert page.total == 1, "the conversation is not on today's admin log"
    dataset = await load_dataset(rt.sessions, period, Filters(), now)
    assert len(dataset.conversations) == 1, "the conversation is not on today's dashboard"
    await purge_raw_texts(rt.sessions, now, days=1)
    async with rt.sessions() as s:
        texts = (await s.scalars(select(Message.text))).all()
    assert text in texts
