"""Logs a failure that repeats every pass: once in full, then briefly, and its end."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from handlers.secrets import error_text

# While a database stays away a loop fails every second or so; one short line a minute says
# it still does without burying the rest of the log under tracebacks.
REPEAT_EVERY_S = 60.0


class OutageLog:
    """For a loop that retries on its own: failed() on each failure, succeeded() on success.

    The first failure is logged with its traceback, then one line per `every_s` while it
    lasts, and one INFO line when the work succeeds again.
    """

    def __init__(self, logger: logging.Logger, what: str, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 every_s: float = REPEAT_EVERY_S) -> None:
        self._log, self._what, self._now, self._every = logger, what, monotonic, every_s
        self._since: float | None = None  # when the current outage began
        self._last = 0.0  # when it was last logged
        self._failures = 0

    @property
    def failing(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        now = self._now()
        self._failures += 1
        if self._since is None:
            self._since = self._last = now
            self._log.error("%s failed", self._what, exc_info=exc)
        elif now - self._last >= self._every:
            self._last = now
            self._log.error("%s still failing for %.0f s (%s failures): %s", self._what,
                            now - self._since, self._failures, _first_line(exc))

    def succeeded(self) -> None:
        if self._since is None:
            return
        self._log.info("%s works again after %.0f s (%s failures)", self._what,
                       self._now() - self._since, self._failures)
        self._since, self._failures = None, 0


def _first_line(exc: BaseException) -> str:
    # SQLAlchemy's errors go on with the statement and a link on lines of their own.
    return error_text(exc).splitlines()[0]
