"""TelegramNotifier: every escalated conversation, from any channel, gets a forum topic."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
)

from bots.delivery_errors import reason_of
from bots.telegram.backlog import TRANSIENT, Held, StaffBacklogRunner, why
from bots.telegram.media import resend
from bots.telegram.privacy import StaffPrivacy
from bots.telegram.titles import TopicTitles
from bots.telegram.topics import NOT_A_FORUM, TAG, THREAD_NOT_FOUND, Thread, means
from bots.text import split_text, utf16_len
from handlers.event_ports import ConversationEvent, EventKind
from handlers.faq_ports import Faq
from handlers.model import Attachment, Author, Channel
from handlers.pii import contacts_of
from handlers.ports import ConversationStore, HistoryItem, Texts
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

MAX_TEXT = 4096
ORIGIN = "telegram"


_NOTES = {EventKind.CLOSED: "staff_closed", EventKind.TRANSFERRED: "staff_transferred",
          EventKind.ASSIGNED: "staff_assigned", EventKind.RATED: "staff_rated",
          EventKind.REMINDER: "staff_reminder", EventKind.BREACH: "staff_breach"}


class TelegramNotifier:
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

    async def _name(self, specialist_id: int | None) -> str:
        if self._staff is None or specialist_id is None:
            return ""
        return await self._staff.name_of(specialist_id)

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

    async def _client_message(self, cid: int, event: ConversationEvent) -> None:
        if not await self._threads.thread_of(cid) or self._in_history(cid, event.message_id):
            # Not escalated into the group (yet), or its topic opens later (the backlog's
            # OPEN) with a history that shows this message.
            return
        item = await self._item(cid, event.message_id)
        attachments = item.attachments if item else ()
        found = await self._store.get(cid) if attachments else None
        if found is not None:
            self._known[cid] = self._privacy.known(found[1].display_name)
        files = self._privacy.resent(found[0].channel, attachments) if found else []
        known = await self._known_of(cid)
        shown = self._privacy.text(event.text, self._public(), known)
        listed, on_desk = self._privacy.listed(attachments, self._public(), files, known)
        text = self._texts.render(
            "staff_client_message", text=shown.text, attachments=listed,
            hidden=shown.hidden or on_desk, files_on_desk=on_desk, link=self._privacy.link(cid))
        if await self._post(cid, text):
            await self._resend(cid, files)

    async def _mirror(self, cid: int, event: ConversationEvent) -> None:
        """A specialist's reply from the desk may repeat the client's data: masked alike."""
        if self._in_history(cid, event.message_id) or (
                cid in self._deferred and not await self._threads.thread_of(cid)):
            return  # the history the topic opened, or opens later, with shows it
        item = await self._item(cid, event.message_id)
        known = await self._known_of(cid)
        shown = self._privacy.text(event.text, self._public(), known)
        files = [self._privacy.text(a.name or a.kind, self._public(), known).text
                 for a in item.attachments] if item else []
        await self._post(cid, self._texts.render(
            "staff_mirror", text=shown.text, origin=event.origin,
            specialist=await self._name(item.specialist_id if item else None),
            internal=bool(item and item.internal), files=files, hidden=shown.hidden,
            link=self._privacy.link(cid)))

    def _in_history(self, cid: int, message_id: int | None) -> bool:
        return message_id is not None and message_id <= self._shown.get(cid, 0)

    async def _known_of(self, cid: int) -> frozenset[str]:
        """The client's name words, masked alone too; one look-up after a restart, when the
        topic was opened by an earlier process."""
        if self._privacy.full_texts:
            return frozenset()
        if cid not in self._known:
            found = await self._store.get(cid)
            self._known[cid] = self._privacy.known(found[1].display_name) if found \
                else frozenset()
        return self._known[cid]

    def _public(self) -> frozenset[str]:
        """The institution's own phones and e-mails, which masking leaves readable."""
        return contacts_of(self._faq.kb)

    async def _item(self, cid: int, message_id: int | None) -> HistoryItem | None:
        """The stored message behind an event (attachments, internal flag), if still recent."""
        items = await self._store.history(cid, limit=10)
        return next((i for i in items if i.message_id == message_id), None)

    async def _open(self, cid: int) -> None:
        """Opens the topic now, kept in the backlog first: a process that dies meanwhile (the
        call in flight) leaves it to the backlog, not lost; a topic Telegram made just before
        that death stays an orphan no one knows of."""
        wanted = None if self._backlog is None else await self._backlog.want_open(cid)
        if self._backlog is None or wanted is None:
            await self.open_thread(cid)
            return
        try:
            await self.open_thread(cid)
        except TRANSIENT as exc:  # only the topic's creation lets these through
            await self._backlog.not_opened(wanted, exc)
            return
        except (Held, TelegramAPIError):  # opened, or refused for good as before
            await self._backlog.opened(wanted)
            raise
        await self._backlog.opened(wanted)

    async def open_thread(self, cid: int) -> Thread | None:
        """Creates the topic (or tags in a plain group) and posts the history so far."""
        found = await self._store.get(cid)
        if found is None:
            return None
        conv, client = found
        self._known[cid] = self._privacy.known(client.display_name)
        about = self._titles.about(conv, client)
        thread = await self._create(self._titles.title(conv, client))
        await self._threads.set_thread(cid, str(thread))
        await self._record(cid, thread, 0)
        history = await self._store.history(cid)
        self._shown[cid] = max((i.message_id for i in history), default=0)
        items, data_hidden, files_on_desk = self._shown_history(conv.channel, history,
                                                                self._known[cid])
        kb = self._faq.kb
        text = self._texts.render(
            "staff_history", **about, queue=self._queue_titles.get(conv.queue, conv.queue),
            reason="", items=items, timezone=self._tz, plain=not thread.topic_id,
            queue_titles=self._queue_titles, entries={e.id: e.question for e in kb.entries},
            categories={c.id: c.title for c in kb.categories},
            hidden=data_hidden or files_on_desk, data_hidden=data_hidden,
            files_on_desk=files_on_desk,
            link=self._privacy.link(cid))
        await self._send(thread, cid, text)
        for item in history:
            await self._resend(cid, self._privacy.resent(conv.channel, item.attachments), thread)
        return thread

    def _shown_history(self, channel: Channel, items: Sequence[HistoryItem],
                       known: frozenset[str]) -> tuple[list[HistoryItem], bool, bool]:
        """The items as posted; whether personal data, and whether files, are left out."""
        shown_items, data_hidden, files_on_desk = [], False, False
        for item in items:
            shown = self._privacy.text(item.text, self._public(), known)
            listed, on_desk = self._privacy.listed(
                item.attachments, self._public(), self._privacy.resent(channel, item.attachments),
                known)
            shown_items.append(replace(item, text=shown.text, attachments=tuple(listed)))
            data_hidden = data_hidden or shown.hidden
            files_on_desk = files_on_desk or on_desk
        return shown_items, data_hidden, files_on_desk

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
