"""Posting into a conversation's thread of the staff group, in parts, kept for erasure."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest

from bots.telegram.backlog import TRANSIENT, Held
from bots.telegram.media import resend
from bots.telegram.topics import NOT_A_FORUM, TAG, THREAD_NOT_FOUND, Thread, means
from bots.text import split_text, utf16_len
from handlers.model import Attachment
from handlers.secrets import redact
from handlers.staff_ports import StaffPosts, StaffThreads

# One logger for everything staff posts (bots/telegram/backlog.py, titles.py).
log = logging.getLogger("bots.telegram.notifier")

MAX_TEXT = 4096


class ThreadPosts:
    """TelegramNotifier's posting; the notifier provides the state below."""

    _bot: Bot
    _chat_id: int
    _threads: StaffThreads
    _posts: StaffPosts | None
    _clock: Callable[[], datetime]
    _deferred: set[int]

    async def open_thread(self, cid: int) -> Thread | None:
        """Opens the conversation's topic (again, when someone deleted it)."""
        raise NotImplementedError

    async def _create(self, name: str) -> Thread:
        try:
            topic = await self._bot.create_forum_topic(self._chat_id, name)
        except TelegramBadRequest as exc:
            if not means(exc.message, NOT_A_FORUM):
                raise
            log.warning("cannot open a topic in chat %s (%s): conversations are tagged instead",
                        self._chat_id, exc.message)
            return Thread(self._chat_id, 0)
        return Thread(self._chat_id, topic.message_thread_id)

    async def _post(self, cid: int, text: str, reopen: bool = True) -> bool:
        """Sends into the conversation's thread, recreating a topic someone deleted."""
        thread = Thread.parse(await self._threads.thread_of(cid))
        if thread is None:
            if cid in self._deferred:  # the topic is still to be opened by the backlog
                raise Held(self._parts(Thread(self._chat_id, 1), cid, text), None)
            return False
        return await self._post_parts(cid, thread, self._parts(thread, cid, text), reopen)

    async def _post_parts(self, cid: int, thread: Thread, parts: Sequence[str],
                          reopen: bool = True) -> bool:
        try:
            await self._send_parts(thread, cid, parts)
        except TelegramBadRequest as exc:
            if not means(exc.message, THREAD_NOT_FOUND):
                raise
            if not reopen:
                return False
            log.warning("topic of conversation %s is gone (%s): opening a new one", cid,
                        exc.message)
            new = await self.open_thread(cid)
            if new is not None:
                await self._send_parts(new, cid, parts)
        return True

    async def _send(self, thread: Thread, cid: int, text: str) -> None:
        await self._send_parts(thread, cid, self._parts(thread, cid, text))

    @staticmethod
    def _parts(thread: Thread, cid: int, text: str) -> list[str]:
        if not thread.topic_id:
            text = f"{TAG.format(cid)}\n{text}"
        return split_text(text, MAX_TEXT, utf16_len)

    async def _send_parts(self, thread: Thread, cid: int, parts: Sequence[str]) -> None:
        if cid in self._deferred:
            raise Held(parts, None)
        for n, part in enumerate(parts):
            try:
                sent = await self._bot.send_message(thread.chat_id, part,
                                                    message_thread_id=thread.message_thread_id)
            except TRANSIENT as exc:
                raise Held(parts[n:], exc) from exc
            await self._record(cid, thread, sent.message_id)

    async def _record(self, cid: int, thread: Thread, message_id: int) -> None:
        if self._posts is not None:
            await self._posts.record(cid, str(thread), message_id, self._clock())

    async def _resend(self, cid: int, attachments: Sequence[Attachment],
                      thread: Thread | None = None) -> None:
        thread = thread or Thread.parse(await self._threads.thread_of(cid))
        if thread is None:
            return
        for attachment in attachments:
            try:
                sent = await resend(self._bot, thread.chat_id, thread.message_thread_id,
                                    attachment)
            except (TelegramAPIError, ValueError) as exc:
                log.warning("cannot show %s of conversation %s: %s", attachment.kind, cid,
                            redact(str(exc)))
            else:
                if sent is not None:
                    await self._record(cid, thread, sent.message_id)
