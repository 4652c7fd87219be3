"""TelegramNotifier: every escalated conversation, from any channel, gets a forum topic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bots.delivery_errors import reason_of
from bots.telegram.backlog import TRANSIENT, Held, StaffBacklogRunner, why
from bots.telegram.mirror import ConversationMirror
from bots.telegram.privacy import StaffPrivacy
from bots.telegram.titles import TopicTitles
from bots.telegram.topics import Thread
from handlers.event_ports import ConversationEvent, EventKind
from handlers.faq_ports import Faq
from handlers.model import Author
from handlers.ports import ConversationStore, Texts
from handlers.secrets import redact
from handlers.staff_ports import (
    BacklogItem,
    BacklogKind,
    StaffBacklog,
    StaffDirectory,
    StaffPosts,
    StaffThreads,
)

log = logging.getLogger(__name__)

ORIGIN = "telegram"


_NOTES = {EventKind.CLOSED: "staff_closed", EventKind.TRANSFERRED: "staff_transferred",
          EventKind.ASSIGNED: "staff_assigned", EventKind.RATED: "staff_rated",
          EventKind.REMINDER: "staff_reminder", EventKind.BREACH: "staff_breach"}


class TelegramNotifier(ConversationMirror):
    """Posts conversation events into the specialists' supergroup; never raises."""

    def __init__(self, bot: Bot, chat_id: int, store: ConversationStore, threads: StaffThreads,
                 texts: Texts, faq: Faq, timezone: tzinfo,
                 queue_titles: Mapping[str, str] | None = None,
                 privacy: StaffPrivacy | None = None, posts: StaffPosts | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 backlog: StaffBacklog | None = None, give_up: timedelta | None = None,
                 staff: StaffDirectory | None = None) -> None:
        self._bot, self._chat_id, self._store, self._threads = bot, chat_id, store, threads
        self._texts, self._faq, self._tz = texts, faq, timezone
        self._privacy = privacy or StaffPrivacy()
        # Every post is kept by id: an erasure of the client deletes them (cleanup.py).
        self._posts, self._clock = posts, clock
        self._queue_titles = dict(queue_titles or {})
        self._staff = staff  # to name the specialist who acted
        self._titles = TopicTitles(bot, texts, faq, self._privacy, self._queue_titles)
        self._locks: dict[int, asyncio.Lock] = {}
        # The client's name words per conversation (handlers.names.known_name), read with the
        # conversation when its topic opens: no look-up per post.
        self._known: dict[int, frozenset[str]] = {}
        # The last message each topic's history showed when this process opened it: an event
        # that waited on the lock meanwhile is not posted a second time.
        self._shown: dict[int, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Posts that fail for a passing reason wait in the backlog, and so do the later posts
        # of their conversation (in _deferred while its event is handled), to keep the order.
        self._backlog = None if backlog is None else StaffBacklogRunner(
            backlog, chat_id, clock, self._replay, self._lock_of, give_up)
        self._deferred: set[int] = set()

    async def publish(self, event: ConversationEvent) -> None:
        # In the background: a slow or unreachable Telegram must not hold up the client's
        # message (from any channel) that raised the event. Order per conversation is kept by
        # its lock, which tasks take in the order they were created.
        task = asyncio.create_task(self._handle(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        """Posts what the backlog keeps, as the group takes it again."""
        if self._backlog is not None:
            await self._backlog.run()

    def _lock_of(self, cid: int) -> asyncio.Lock:
        return self._locks.setdefault(cid, asyncio.Lock())

    async def _keep(self, cid: int, kind: BacklogKind, parts: Sequence[str],
                    cause: Exception | None) -> None:
        if self._backlog is None:  # nowhere to keep it
            log.error("telegram notifier failed on conversation %s: %s", cid,
                      why(cause) if cause else "")
            return
        await self._backlog.keep(cid, kind, parts, cause)

    async def drain(self, seconds: float = 5.0) -> None:
        """Lets pending posts finish at shutdown, for a bounded time."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)
        for task in set(self._tasks):
            task.cancel()

    async def _handle(self, event: ConversationEvent) -> None:
        cid = event.conversation_id
        try:
            # One conversation at a time: two events must not open two topics.
            async with self._lock_of(cid):
                if self._backlog is not None and await self._backlog.waiting(cid):
                    self._deferred.add(cid)
                try:
                    await self._on(event)
                except Held as held:
                    await self._keep(cid, BacklogKind.POST, held.parts, held.cause)
                except TRANSIENT as exc:  # only the topic's creation lets these through
                    await self._keep(cid, BacklogKind.OPEN, (), exc)
                finally:
                    self._deferred.discard(cid)
            if event.kind in (EventKind.CLOSED, EventKind.ERASED):
                self._locks.pop(event.conversation_id, None)
                self._known.pop(event.conversation_id, None)
                self._shown.pop(event.conversation_id, None)
        except TelegramAPIError as exc:  # the Bot API's own answer says it all: no traceback
            log.error("telegram notifier failed on %s of conversation %s: %s", event.kind,
                      event.conversation_id, redact(f"{type(exc).__name__}: {exc.message}"))
        except Exception:
            log.exception("telegram notifier failed on %s of conversation %s",
                          event.kind, event.conversation_id)

    async def _on(self, event: ConversationEvent) -> None:
        cid = event.conversation_id
        match event.kind:
            case EventKind.ESCALATED | EventKind.CRISIS:
                if not await self._threads.thread_of(cid):
                    if cid not in self._deferred:  # else the backlog opens it
                        await self._open(cid)
                elif event.kind is EventKind.CRISIS:
                    await self._post(cid, self._texts.render("staff_crisis"))
            case EventKind.CLIENT_MESSAGE:
                await self._client_message(cid, event)
            case EventKind.SPECIALIST_MESSAGE if event.origin != ORIGIN:
                await self._mirror(cid, event)
            case EventKind.DELIVERY_HELD:
                # Only a specialist's own reply: the bot's answers are no one's to worry about.
                item = await self._item(cid, event.message_id)
                if item is not None and item.author is Author.SPECIALIST:
                    found = await self._store.get(cid)
                    await self._post(cid, self._texts.render(
                        "staff_delivery_held", channel=str(found[0].channel) if found else ""),
                        reopen=False)
            case EventKind.DELIVERY_FAILED:
                # The platform's English error stays in the log (bots/outbox.py).
                found = await self._store.get(cid)
                await self._post(cid, self._texts.render(
                    "staff_delivery_failed", reason=reason_of(event.text),
                    channel=str(found[0].channel) if found else ""))
            case EventKind.RELEASED:
                await self._released(cid, event.text)
            case EventKind.TRANSFERRED:
                await self._retitle_or_keep(cid)
                await self._note(cid, event)
            case kind if kind in _NOTES:
                await self._note(cid, event)

    async def _note(self, cid: int, event: ConversationEvent) -> None:
        queue = self._queue_titles.get(event.text, event.text)
        specialist = await self._name(int(event.text)) if event.kind is EventKind.ASSIGNED \
            and event.text.isdigit() else await self._name(event.specialist_id)
        await self._post(cid, self._texts.render(
            _NOTES[event.kind], queue=queue, rating=event.text, specialist=specialist))

    async def _released(self, cid: int, by: str) -> None:
        found = await self._store.get(cid)
        queue = found[0].queue if found else ""
        await self._post(cid, self._texts.render(
            "staff_released", queue=self._queue_titles.get(queue, queue),
            specialist=await self._name(int(by)) if by.isdigit() else ""))

    async def _retitle_or_keep(self, cid: int) -> None:
        """A rename the group does not take now is kept, in order with the posts, and done
        with the title of that time: several transfers in an outage end in the last one's."""
        if cid in self._deferred:
            await self._keep(cid, BacklogKind.TITLE, (), None)
            return
        try:
            await self._retitle(cid)
        except TRANSIENT as exc:
            await self._keep(cid, BacklogKind.TITLE, (), exc)

    async def _retitle(self, cid: int) -> None:
        thread = Thread.parse(await self._threads.thread_of(cid))
        found = await self._store.get(cid)
        if thread is not None and found is not None:
            await self._titles.retitle(thread, *found)

    async def _replay(self, item: BacklogItem) -> None:
        cid = item.conversation_id
        if item.kind is BacklogKind.OPEN:
            if not await self._threads.thread_of(cid):
                await self.open_thread(cid)
            return
        if item.kind is BacklogKind.TITLE:
            await self._retitle(cid)
            return
        thread = Thread.parse(await self._threads.thread_of(cid))
        if thread is None:
            return  # erased meanwhile: nothing is posted about the client
        parts = item.parts if item.kind is BacklogKind.POST else self._parts(
            thread, cid, self._texts.render("staff_backlog_lost", count=item.lost,
                                            link=self._privacy.link(cid)))
        await self._post_parts(cid, thread, parts)
