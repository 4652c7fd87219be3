"""Shared fixtures of the analytics tests: the generated log and the queue directory."""

from __future__ import annotations

from datetime import date

import pytest

from analytics.queries import load_dataset
from analytics.records import Dataset, Filters, Period
from handlers.routing import QueueDirectory
from priemnaya.settings import default_queues
from priemnaya.settings_work import CalendarSettings, build_queue_directory
from tests.analytics.generator import AS_OF, TZ, write_log

NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), TZ)


@pytest.fixture
def queues() -> QueueDirectory:
    return build_queue_directory(CalendarSettings(timezone=TZ.key), default_queues(),
                                 "general", "urgent")


@pytest.fixture
async def logged(sessions) -> dict[str, int]:
    return await write_log(sessions)


async def november(sessions, filters: Filters | None = None) -> Dataset:
    return await load_dataset(sessions, NOVEMBER, filters or Filters(), AS_OF)
