"""StaffBacklogRunner: posts the staff group did not take in an outage, tried again in order."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bots.telegram.passes import run_passes
from handlers.secrets import error_text, redact
from handlers.staff_ports import BacklogItem, BacklogKind, StaffBacklog

log = logging.getLogger("bots.telegram.notifier")  # one logger for everything staff posts

# Failures that pass: the post is kept in the backlog and tried again, in order.
TRANSIENT = (TelegramRetryAfter, TelegramServerError, TelegramNetworkError)
MAX_WAIT_S = 60  # between tries: the end of an outage shows in the topics within a minute
GIVE_UP = timedelta(hours=3)  # about as long as the outbox tries a reply to a client
BATCH = 50
INTERVAL_S = 10.0  # for backlogs other replicas kept, and a restart's
# A topic is wanted in the backlog before it is asked for, due only once the call must have
# ended (aiogram gives up after 60 s): a process that dies mid-call leaves it to the others.
OPENING = timedelta(seconds=90)


class Held(Exception):
    """A post the group did not take for a passing reason; parts: what is left of it."""

    def __init__(self, parts: Sequence[str], cause: Exception | None) -> None:
        super().__init__(len(parts))
        self.parts, self.cause = tuple(parts), cause


def why(exc: Exception) -> str:
    text = exc.message if isinstance(exc, TelegramAPIError) else str(exc)
    return redact(f"{type(exc).__name__}: {text}")


def retry_wait(attempts: int, cause: Exception | None) -> timedelta:
    if isinstance(cause, TelegramRetryAfter):  # flood control says when
        return timedelta(seconds=cause.retry_after)
    return timedelta(seconds=0 if cause is None else min(2 ** attempts, MAX_WAIT_S))


class StaffBacklogRunner:
    """Keeps what failed and replays it, conversation by conversation, under their locks."""

    def __init__(self, backlog: StaffBacklog, chat_id: int, clock: Callable[[], datetime],
                 replay: Callable[[BacklogItem], Awaitable[None]],
                 lock_of: Callable[[int], asyncio.Lock], give_up: timedelta | None = None,
                 interval_s: float | None = None) -> None:
        self._backlog, self._chat_id, self._clock = backlog, chat_id, clock
        self._replay, self._lock_of = replay, lock_of
        self._interval = INTERVAL_S if interval_s is None else interval_s
        self._give_up = GIVE_UP if give_up is None else give_up
        self._surface = f"tg:{chat_id}"
        self._wake = asyncio.Event()

    async def waiting(self, cid: int) -> bool:
        return await self._backlog.waiting(cid)

    async def keep(self, cid: int, kind: BacklogKind, parts: Sequence[str],
                   cause: Exception | None) -> None:
        """After a passing failure, or behind what the conversation has waiting."""
        now, wait = self._clock(), retry_wait(0, cause)
        await self._backlog.add(cid, self._surface, kind, parts, now, now + wait,
                                error_text(cause) if cause else "")
        if cause is not None:
            log.warning("posting to chat %s failed (%s): kept, retrying in %s s",
                        self._chat_id, why(cause), wait.total_seconds())
        self._wake_in(wait)

    async def want_open(self, cid: int) -> int | None:
        """The topic's opening, kept before it is tried; the item's id (None: client erased)."""
        now = self._clock()
        return await self._backlog.add(cid, self._surface, BacklogKind.OPEN, (), now,
                                       now + OPENING, "")

    async def opened(self, item_id: int) -> None:
        """Done with, or refused for good; what other replicas kept behind it goes now."""
        await self._backlog.done(item_id)
        self._wake_in(timedelta(0))

    async def not_opened(self, item_id: int, cause: Exception) -> None:
        wait = retry_wait(0, cause)
        await self._backlog.hold(item_id, BacklogKind.OPEN, (), self._clock() + wait,
                                 error_text(cause))
        log.warning("opening a topic in chat %s failed (%s): retrying in %s s",
                    self._chat_id, why(cause), wait.total_seconds())
        self._wake_in(wait)

    async def run(self) -> None:
        await run_passes(self.catch_up, BATCH, self._wake, self._interval, log,
                         "posting the staff group's backlog")

    async def catch_up(self) -> int:
        """One pass over the conversations whose backlog is due; how many there were."""
        due = await self._backlog.due(self._surface, self._clock(), BATCH)
        for cid in due:
            async with self._lock_of(cid):
                await self._catch_up(cid)
        return len(due)

    async def _catch_up(self, cid: int) -> None:
        lost = await self._backlog.expire(cid, self._clock() - self._give_up)
        if lost:
            log.warning("gave up on %s posts of conversation %s to chat %s after %s: the "
                        "topic gets a note that they are on the web desk", lost, cid,
                        self._chat_id, self._give_up)
        while (item := await self._backlog.head(cid)) is not None:
            try:
                await self._replay(item)
            except Held as held:
                # A LOST note is rendered again with its count; a topic opened stays open.
                kind = BacklogKind.LOST if item.kind is BacklogKind.LOST else BacklogKind.POST
                await self._hold(item, kind, held.parts if kind is BacklogKind.POST else (),
                                 held.cause)
                return
            except TRANSIENT as exc:  # the topic could not be opened yet
                await self._hold(item, item.kind, item.parts, exc)
                return
            except TelegramAPIError as exc:  # refused for good: the ones behind may pass
                log.warning("the staff group refused a kept post of conversation %s: %s",
                            cid, why(exc))
            await self._backlog.done(item.id)

    async def _hold(self, item: BacklogItem, kind: BacklogKind, parts: Sequence[str],
                    cause: Exception | None) -> None:
        wait = retry_wait(item.attempts + 1, cause)
        await self._backlog.hold(item.id, kind, parts, self._clock() + wait,
                                 error_text(cause) if cause else "")
        self._wake_in(wait)

    def _wake_in(self, wait: timedelta) -> None:
        asyncio.get_running_loop().call_later(wait.total_seconds(), self._wake.set)
