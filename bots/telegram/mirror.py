"""What the staff group sees of a conversation: its history as the topic opens, each message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import tzinfo

from aiogram.exceptions import TelegramAPIError

from bots.telegram.backlog import TRANSIENT, Held, StaffBacklogRunner
from bots.telegram.privacy import StaffPrivacy
from bots.telegram.thread_posts import ThreadPosts
from bots.telegram.titles import TopicTitles
from bots.telegram.topics import Thread
from handlers.event_ports import ConversationEvent
from handlers.faq_ports import Faq
from handlers.model import Channel
from handlers.pii import contacts_of
from handlers.ports import ConversationStore, HistoryItem, Texts
from handlers.staff_ports import StaffDirectory


class ConversationMirror(ThreadPosts):
    """TelegramNotifier's view of a conversation; the notifier provides the state below."""

    _store: ConversationStore
    _texts: Texts
    _faq: Faq
    _tz: tzinfo
    _privacy: StaffPrivacy
    _titles: TopicTitles
    _queue_titles: dict[str, str]
    _staff: StaffDirectory | None
    _backlog: StaffBacklogRunner | None
    _known: dict[int, frozenset[str]]
    _shown: dict[int, int]

    async def _name(self, specialist_id: int | None) -> str:
        if self._staff is None or specialist_id is None:
            return ""
        return await self._staff.name_of(specialist_id)

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
