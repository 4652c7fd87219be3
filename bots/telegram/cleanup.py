"""StaffCleanup: deletes from the specialists' group what the bot posted about a client whose
data was erased (152-ФЗ): the conversation's forum topic, or in a plain group each message."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter

from bots.outbox import MAX_ATTEMPTS, backoff
from bots.telegram.passes import run_passes
from bots.telegram.topics import Thread, means
from handlers.event_ports import ConversationEvent, EventKind
from handlers.secrets import error_text
from handlers.staff_ports import StaffPostRef, StaffPosts

log = logging.getLogger(__name__)

BATCH = 100
INTERVAL_S = 30.0  # erasures other replicas scheduled, and retries that fell due
# Deleted already (by a specialist, or by an earlier pass that did not hear back).
GONE = ("message thread not found", "topic_deleted", "thread not found", "topic_id_invalid",
        "message to delete not found")
NO_RIGHTS = ("not enough rights", "chat_admin_required", "need administrator rights")
# Telegram's words for a message the bot may never delete, whatever its rights: over 48 hours
# old. Left for an administrator, not tried again.
CANNOT = ("message can't be deleted",)
# The reasons an administrator is shown (templates/web/admin_nav.html).
NO_RIGHT, CANNOT_DELETE = "no_right:can_delete_messages", "cannot_delete"
REFUSED, GAVE_UP = "refused", "gave_up"
# How often what the bot lacked the right to delete is tried again (and at start-up): an
# administrator who grants the right sees the leftovers go within this, without a restart.
RETRY_REFUSED_S = 15 * 60.0


class StaffCleanup:
    """Runs in the background; woken by an erasure, it also polls for what is due."""

    def __init__(self, bot: Bot, chat_id: int, posts: StaffPosts,
                 clock: Callable[[], datetime], interval_s: float = INTERVAL_S,
                 retry_refused_s: float = RETRY_REFUSED_S) -> None:
        self._bot, self._posts, self._clock, self._interval = bot, posts, clock, interval_s
        self._threads = f"tg:{chat_id}:"
        self._wake = asyncio.Event()
        self._retry_every = timedelta(seconds=retry_refused_s)
        self._retry_at: datetime | None = None  # None: at the first pass
        self._lacked_right = False  # an attempt of the current pass met a missing right

    async def publish(self, event: ConversationEvent) -> None:
        if event.kind is EventKind.ERASED:
            self._wake.set()

    async def run(self) -> None:
        await run_passes(self._pass, BATCH, self._wake, self._interval, log,
                         "deleting erased clients' posts in the staff group")

    async def _pass(self) -> int:
        now = self._clock()
        if self._retry_at is None or now >= self._retry_at:
            self._retry_at = now + self._retry_every
            await self.retry_refused()
        return await self.sweep()

    async def retry_refused(self) -> None:
        """What the bot lacked the right to delete, tried again: the right is the group's, so
        one post goes first and the rest only when it met no missing right, lest a group
        still without it get a call per post every round."""
        if not await self._posts.revive(self._threads, NO_RIGHT, self._clock(), limit=1):
            return
        self._lacked_right = False
        await self.sweep()
        if not self._lacked_right:
            revived = await self._posts.revive(self._threads, NO_RIGHT, self._clock())
            if revived:
                log.info("deleting %s posts of erased conversations in the staff group "
                         "again: the bot may delete messages there now", revived)

    async def sweep(self) -> int:
        """One pass over what is due; how many posts it took."""
        due = await self._posts.claim_erasable(self._threads, self._clock(), BATCH)
        groups = [list(g) for _, g in itertools.groupby(due, key=lambda p: p.thread)]
        for n, posts in enumerate(groups):
            try:
                await self._erase(posts)
            except TelegramRetryAfter as exc:  # flood control holds every call of the bot
                later = self._clock() + timedelta(seconds=exc.retry_after)
                await self._posts.retry([p.id for g in groups[n:] for p in g], later,
                                        error_text(exc))
                break
        return len(due)

    async def _erase(self, posts: Sequence[StaffPostRef]) -> None:
        thread = Thread.parse(posts[0].thread)
        if thread is None:
            await self._posts.deleted([p.id for p in posts])
            return
        messages = [p for p in posts if p.message_id]
        if thread.topic_id and await self._delete_topic(thread, posts):
            return
        # A plain group (message 0 is no message there), or a topic the bot may not delete:
        # its own messages, as Telegram allows within 48 hours.
        await self._posts.deleted([p.id for p in posts if not p.message_id and
                                   not thread.topic_id])
        for post in messages:
            await self._attempt([post], self._bot.delete_message(thread.chat_id,
                                                                 post.message_id))

    async def _delete_topic(self, thread: Thread, posts: Sequence[StaffPostRef]) -> bool:
        """True when the topic is gone, with every message in it."""
        topic = [p for p in posts if not p.message_id] or list(posts[:1])
        try:
            await self._bot.delete_forum_topic(thread.chat_id, thread.topic_id)
        except TelegramBadRequest as exc:
            if means(exc.message, GONE):
                await self._posts.deleted([p.id for p in posts])
                return True
            if not means(exc.message, NO_RIGHTS):
                return await self._failed(topic, exc, REFUSED)
            self._lack_right(topic, "cannot delete the topic %s of erased conversation %s in "
                             "chat %s: the bot lacks the administrator right "
                             "can_delete_messages («Удаление сообщений»); deleting its own "
                             "messages instead", thread.topic_id, posts[0].conversation_id,
                             thread.chat_id)
            await self._posts.failed([p.id for p in topic if not p.message_id], NO_RIGHT)
            return False
        except TelegramForbiddenError as exc:  # no longer in the group
            return await self._failed(topic, exc, REFUSED)
        except TelegramRetryAfter:
            raise
        except Exception as exc:
            return await self._again(list(posts), exc)
        await self._posts.deleted([p.id for p in posts])
        return True

    async def _attempt(self, posts: list[StaffPostRef], call: Awaitable[object]) -> None:
        try:
            await call
        except TelegramBadRequest as exc:
            if means(exc.message, GONE):
                await self._posts.deleted([p.id for p in posts])
            elif means(exc.message, NO_RIGHTS):
                self._lack_right(posts, "cannot delete message %s of erased conversation %s: "
                                 "%s (the bot lacks the administrator right "
                                 "can_delete_messages)", posts[0].message_id,
                                 posts[0].conversation_id, exc.message)
                await self._posts.failed([p.id for p in posts], NO_RIGHT)
            elif means(exc.message, CANNOT):
                log.warning("cannot delete message %s of erased conversation %s: %s (over 48 "
                            "hours old)", posts[0].message_id, posts[0].conversation_id,
                            exc.message)
                await self._posts.failed([p.id for p in posts], CANNOT_DELETE)
            else:
                await self._failed(posts, exc, REFUSED)
        except TelegramForbiddenError as exc:
            await self._failed(posts, exc, REFUSED)
        except TelegramRetryAfter:
            raise
        except Exception as exc:
            await self._again(posts, exc)
        else:
            await self._posts.deleted([p.id for p in posts])

    def _lack_right(self, posts: Sequence[StaffPostRef], message: str, *args: object) -> None:
        """Warned once: tried again every round until the right is granted, it is known."""
        self._lacked_right = True
        known = all(p.last_error == NO_RIGHT for p in posts)
        log.log(logging.INFO if known else logging.WARNING, message, *args)

    async def _failed(self, posts: Sequence[StaffPostRef], exc: Exception, reason: str) -> bool:
        log.warning("cannot delete posts of erased conversation %s in the staff group: %s",
                    posts[0].conversation_id, error_text(exc))
        await self._posts.failed([p.id for p in posts], reason)
        return False

    async def _again(self, posts: list[StaffPostRef], exc: Exception) -> bool:
        """A network error or a 5xx: retried with the outbox's backoff, and given up (an
        administrator is told) after as many attempts as a reply gets."""
        attempts = max(p.attempts for p in posts)
        if attempts >= MAX_ATTEMPTS:
            return await self._failed(posts, exc, GAVE_UP)
        log.warning("deleting posts of erased conversation %s failed, retrying: %s",
                    posts[0].conversation_id, error_text(exc))
        await self._posts.retry([p.id for p in posts],
                                self._clock() + backoff(attempts, None), error_text(exc))
        return True

