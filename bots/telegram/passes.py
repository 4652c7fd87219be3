"""The loop of a background job that works through what is due in batches (the staff group's
backlog, the deletion of erased clients' posts): woken early by an event, else every interval."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from handlers.outage_log import OutageLog


async def run_passes(one_pass: Callable[[], Awaitable[int]], batch: int, wake: asyncio.Event,
                     interval_s: float, log: logging.Logger, what: str) -> None:
    """Runs `one_pass` until it takes less than a full batch, then waits for `wake` or the
    interval; a failing pass (a broken database connection) is logged, never the end of it."""
    outage = OutageLog(log, what)
    while True:
        try:
            while await one_pass() == batch:
                pass
            outage.succeeded()
        except Exception as exc:
            outage.failed(exc)
        try:
            async with asyncio.timeout(interval_s):
                await wake.wait()
        except TimeoutError:
            pass
        wake.clear()
