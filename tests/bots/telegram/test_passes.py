"""The loop of the staff group's batch jobs through a database outage."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bots.telegram.passes import run_passes


class Stop(BaseException):
    """Ends the loop: a BaseException passes the loop's own `except Exception`."""


async def test_an_outage_is_logged_in_full_once_and_its_end_once(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "passes")
    calls = 0

    async def one_pass() -> int:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise Stop
        if calls <= 3:
            raise OSError("connection refused\n[SQL: SELECT ...]")
        return 0

    with pytest.raises(Stop):
        await run_passes(one_pass, 10, asyncio.Event(), 0, logging.getLogger("passes"),
                         "posting the backlog")
    records = [r for r in caplog.records if r.name == "passes"]
    assert [(r.levelname, r.getMessage().split(" after ")[0], r.exc_info is not None)
            for r in records] == [
        ("ERROR", "posting the backlog failed", True),
        ("INFO", "posting the backlog works again", False),
    ]
