"""Reminds specialists at 80% of a reply target and records a breach when it is missed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from handlers.event_ports import ConversationEvent, EventKind, Notifier
from handlers.outage_log import OutageLog
from handlers.queue_ports import ReplyTargets, WaitingTarget
from handlers.routing import QueueDirectory, breached, reminder_due

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 60.0


class ReminderJob:
    """One pass per interval; the store's conditional updates make each event happen once."""

    def __init__(
        self, targets: ReplyTargets, directory: QueueDirectory, notifier: Notifier,
        clock: Callable[[], datetime], interval_s: float = DEFAULT_INTERVAL_S,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._targets, self._directory, self._notifier = targets, directory, notifier
        self._clock, self._interval, self._sleep = clock, interval_s, sleep
        self._outage = OutageLog(log, "reminder pass", monotonic=monotonic)

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
                self._outage.succeeded()
            except Exception as exc:  # a database hiccup must not end reminders for good
                self._outage.failed(exc)
            await self._sleep(self._interval)

    async def tick(self) -> list[ConversationEvent]:
        """Checks every waiting conversation once; returns the events it published."""
        now = self._clock()
        events = []
        for target in await self._targets.waiting():
            event = await self._check(target, now)
            if event is not None:
                await self._notifier.publish(event)
                events.append(event)
        return events

    async def _check(self, target: WaitingTarget, now: datetime) -> ConversationEvent | None:
        queue = self._directory.queue_for(target.queue)
        opened, urgent, due = target.escalated_at, target.urgent, target.due_at
        if breached(queue, opened, now, urgent, due):
            if await self._targets.mark_breached(target.conversation_id, now):
                return ConversationEvent(EventKind.BREACH, target.conversation_id,
                                         text=queue.id)
        elif (not target.reminded and reminder_due(queue, opened, now, urgent, due)
              and await self._targets.mark_reminded(target.conversation_id, now)):
            return ConversationEvent(EventKind.REMINDER, target.conversation_id, text=queue.id)
        return None
