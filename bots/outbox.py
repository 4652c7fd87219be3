"""The outbox worker: delivers queued replies to their channels, retrying with backoff."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from handlers.delivery_ports import (
    ChannelSender,
    Delivery,
    DeliveryQueue,
    DeliveryRefused,
    DeliveryRetry,
)
from handlers.event_ports import ConversationEvent, EventKind, Notifier
from handlers.outage_log import OutageLog
from handlers.secrets import error_text, redact

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # with the backoff below: about 2.5 hours before giving up
MAX_BACKOFF = timedelta(minutes=30)


def backoff(attempts: int, retry_after: float | None) -> timedelta:
    """Exponential backoff from 2 s, or the platform's retry_after when it asked for more."""
    own = min(timedelta(seconds=2 ** attempts), MAX_BACKOFF)
    if retry_after is not None:
        return max(timedelta(seconds=retry_after), timedelta(seconds=0.05))
    return own


@dataclass(frozen=True, slots=True)
class Held:
    """A delivery held for a retry; outage: the whole platform failed (channel_down)."""

    outage: bool


class OutboxWorker:
    """Delivers what the store hands it at once and polls the outbox for the rest.

    A reply the store committed in this process arrives through hand(), already leased to
    this worker (storage/hot_path.py): it is sent without a query to claim it. The poll, every
    `poll_interval` or at once after wake(), finds what no one handed over: retries that fell
    due, rows of a process that stopped before sending, rows written elsewhere.
    Replies to one chat go out one after another, oldest first, and none overtakes an older
    one held for a retry (the outbox keeps it waiting; here the rest of a pass waits).
    """

    def __init__(self, queue: DeliveryQueue, senders: Mapping[str, ChannelSender],
                 notifier: Notifier, clock: Callable[[], datetime],
                 poll_interval: float = 1.0, batch: int = 50,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._queue, self._senders, self._notifier = queue, senders, notifier
        self._clock, self._interval, self._batch = clock, poll_interval, batch
        # The database away: a pass fails every poll_interval, logged once a minute.
        self._outage = OutageLog(log, "outbox pass", monotonic=monotonic)
        self._event = asyncio.Event()
        self._handed: list[Delivery] = []
        self._poll = True  # the first pass looks for rows left from before a restart
        # Channels that failed as a whole (DeliveryRetry.channel_down), not one chat or one
        # file: the first send that goes through again brings their held replies forward.
        self._down: set[str] = set()
        # Chats this worker is sending to, and those of them with newer replies waiting in
        # the outbox: once this pass is done with the older ones, a poll takes the newer.
        self._sending: set[tuple[str, str]] = set()
        self._behind: set[tuple[str, str]] = set()
        # At a graceful stop (stop()): deliveries of the pass under way not yet attempted,
        # given back by release_unsent(); and sends that went through, recorded at the pass's
        # end or, when the stop cut the pass short, by release_unsent().
        self._stopping = False
        self._unstarted: dict[int, Delivery] = {}
        self._unrecorded: list[tuple[int, str]] = []

    @property
    def channels(self) -> Collection[str]:
        return self._senders.keys()

    def wake(self) -> None:
        self._poll = True
        self._event.set()

    def hand(self, deliveries: Sequence[Delivery],
             waiting: Collection[tuple[str, str]] = ()) -> None:
        """Deliveries committed and leased to this worker: sent on its next pass. waiting:
        chats whose new replies wait in the outbox behind an older one still pending."""
        self._handed.extend(deliveries)
        if waiting:
            mine = self._sending | {d.recipient for d in self._handed}
            # Every one, not only those this worker is sending: the older reply's own
            # hand-over may come after this one (its transaction committed first, and the
            # newer one's ran before it was handed; seen on SQLite in one process).
            self._behind.update(waiting)
            if any(r not in mine for r in waiting):
                # Held in the outbox, or done since the store looked: a poll finds out which.
                self._poll = True
        self._event.set()

    def stop(self) -> None:
        """A graceful stop: sends under way finish and are recorded, nothing new is started,
        and run() returns; release_unsent() then gives back what this worker holds."""
        self._stopping = True
        self._event.set()

    async def run(self) -> None:
        while not self._stopping:
            poll, self._poll = self._poll, False
            try:
                busy = await self._pass(poll)
                self._outage.succeeded()
            except Exception as exc:  # a broken database connection must not stop delivery
                self._outage.failed(exc)
                busy = 0
            if busy < self._batch and not self._handed:
                await self._sleep()

    async def _sleep(self) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can lose a cancellation that
        # arrives as its timeout fires, and the worker then never stops (seen at shutdown).
        try:
            async with asyncio.timeout(self._interval):
                await self._event.wait()
        except TimeoutError:
            self._poll = True
            # This poll looks for every waiting reply; a chat whose older reply another
            # replica sends would otherwise stay here for good.
            self._behind.clear()
        self._event.clear()

    async def release_unsent(self) -> None:
        """At a stop: sends that went through are recorded, and deliveries handed or claimed
        but never attempted go back to the outbox due now, so that another replica (or the
        next start) sends them at once instead of after their lease."""
        sent, self._unrecorded = self._unrecorded, []
        if sent:
            await self._queue.mark_sent(sent, self._clock())
        unsent = self._handed + list(self._unstarted.values())
        self._handed, self._unstarted = [], {}
        await self._queue.release(sorted(d.id for d in unsent), self._clock())

    async def drain_once(self) -> int:
        """One pass: what was handed over, and what is due in the outbox."""
        return await self._pass(poll=True)

    async def _pass(self, poll: bool) -> int:
        claimed = (await self._queue.claim_due(self._clock(), self._batch, self._senders.keys())
                   if poll else [])
        if len(claimed) == self._batch:
            self._poll = True  # more may be due
        # Taken only once the claim has succeeded: a failed claim leaves them for the next pass.
        handed, self._handed = self._handed[:self._batch], self._handed[self._batch:]
        due = handed + claimed
        if due:
            # A handed delivery that a failed pass drops is not lost: its lease runs out
            # and the poll claims it again.
            await self._send(due)
        return len(due)

    async def _send(self, due: Sequence[Delivery]) -> None:
        chats: dict[tuple[str, str], list[Delivery]] = {}
        for d in sorted(due, key=lambda d: d.id):  # ids grow in the order replies are written
            chats.setdefault(d.recipient, []).append(d)
        down_before = set(self._down)  # a failure of this very pass proves no recovery
        self._sending = set(chats)
        self._unstarted = {d.id: d for d in due}
        try:
            await asyncio.gather(*(self._deliver_in_order(c) for c in chats.values()))
            # Successes are recorded together: one transaction per pass, not per message.
            sent = list(self._unrecorded)
            await self._queue.mark_sent(sent, self._clock())
            del self._unrecorded[:len(sent)]
        finally:
            self._sending = set()
        ok = {i for i, _ in sent}
        await self._after_outage(down_before & {d.channel for d in due if d.id in ok})
        if self._behind & chats.keys():
            self._behind -= chats.keys()
            self.wake()

    async def _deliver_in_order(self, chat: Sequence[Delivery]) -> None:
        """One chat's deliveries, oldest first. One held for a retry holds back the newer
        ones: they go back to the outbox and wait behind it. One that failed for good does
        not: the client gets the rest. At a stop, the rest wait for release_unsent()."""
        for n, d in enumerate(chat):
            if self._stopping:
                return
            self._unstarted.pop(d.id, None)
            outcome = await self._deliver(d)
            if isinstance(outcome, Held):
                await self._hold_behind(chat[n + 1:], outcome)
                return
            if outcome is not None:
                self._unrecorded.append(outcome)

    async def _hold_behind(self, newer: Sequence[Delivery], held: Held) -> None:
        if not newer:
            return
        for d in newer:  # given back here, not again by release_unsent()
            self._unstarted.pop(d.id, None)
        await self._queue.release([d.id for d in newer], self._clock())
        if held.outage:
            for d in newer:
                if d.attempts == 1:
                    await self._tell_held(d)

    async def _after_outage(self, recovered: set[str]) -> None:
        for channel in recovered:
            self._down.discard(channel)
            held = await self._queue.due_now(channel, self._clock())
            if held:
                log.warning("%s sends go through again: %s held replies go out now",
                            channel, held)
                self.wake()

    async def _deliver(self, d: Delivery) -> tuple[int, str] | Held | None:
        """Sent: (id, the platform's message id); Held for a retry; None: failed for good."""
        sender = self._senders.get(d.channel)
        if sender is None:
            await self._fail(d, f"channel {d.channel} is not enabled on this replica, and no "
                             "replica that runs it sent this reply", blocked=False)
            return None
        try:
            return d.id, await sender.send(d.address, d.reply, d.key)
        except DeliveryRefused as exc:
            await self._fail(d, redact(str(exc)), blocked=exc.client_blocked)
        except DeliveryRetry as exc:
            if exc.channel_down:
                self._down.add(d.channel)
            if await self._retry(d, redact(str(exc)), exc.retry_after):
                if exc.channel_down and d.attempts == 1:
                    await self._tell_held(d)
                return Held(exc.channel_down)
        except Exception as exc:  # an unknown failure is retried, never dropped
            log.exception("delivery %s failed", d.id)
            if await self._retry(d, error_text(exc), None):
                return Held(outage=False)
        return None

    async def _retry(self, d: Delivery, error: str, retry_after: float | None) -> bool:
        """Held for another attempt (True), or given up after the last one."""
        if d.attempts >= MAX_ATTEMPTS:
            # The final failure of what was retried for hours: an error, the retries were not.
            await self._fail(d, f"gave up after {d.attempts} attempts: {error}", blocked=False,
                             level=logging.ERROR)
            return False
        log.warning("delivery %s attempt %s failed, retrying: %s", d.id, d.attempts, error)
        await self._queue.mark_retry(d.id, self._clock() + backoff(d.attempts, retry_after),
                                     error, firm=retry_after is not None)
        return True

    async def _tell_held(self, d: Delivery) -> None:
        """Once per reply: the specialists' surfaces say it is held while the platform is down
        (the desk shows it after a minute; a Telegram topic is told at once)."""
        conversation_id = await self._queue.conversation_of(d)
        if conversation_id is not None:
            await self._notifier.publish(ConversationEvent(
                EventKind.DELIVERY_HELD, conversation_id, d.message_id))

    async def _fail(self, d: Delivery, error: str, blocked: bool,
                    level: int = logging.WARNING) -> None:
        log.log(level, "delivery %s failed for good: %s", d.id, error)
        conversation_id = await self._queue.mark_failed(d, self._clock(), error, blocked)
        if conversation_id is not None:
            await self._notifier.publish(ConversationEvent(
                EventKind.DELIVERY_FAILED, conversation_id, d.message_id, error))
