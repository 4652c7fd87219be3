"""The loop of a background job that works through what is due in batches (the staff group's
backlog, the deletion of erased clients' posts): woken early by an event, else every interval."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def run_passes(one_pass: Callable[[], Awaitable[int]], batch: int, wake: asyncio.Event,
                     interval_s: float, log: logging.Logger, failure: str) -> None:
    """Runs `one_pass` until it takes less than a full batch, then waits for `wake` or the
    interval; a failing pass (a broken database connection) is logged, never the end of it."""
    while True:
        try:
            while await one_pass() == batch:
                pass
        except Exception:
            log.exception(failure)
        try:
            async with asyncio.timeout(interval_s):
                await wake.wait()
        except TimeoutError:
            pass
        wake.clear()
