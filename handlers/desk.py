"""The specialists' side of a conversation, shared by every surface they work from."""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from handlers.deps import Deps
from handlers.event_ports import ConversationEvent, EventKind
from handlers.model import Attachment, Author, State
from handlers.ports import Holder

# A specialist's text starting with this is an internal note, on every surface they write from.
NOTE_PREFIX = "!"


def note_of(text: str) -> str | None:
    """The note in a text written as one (NOTE_PREFIX stripped), or None for a reply."""
    text = text.strip()
    return text[len(NOTE_PREFIX):].strip() if text.startswith(NOTE_PREFIX) else None


class NotSent(StrEnum):
    """Why a specialist's reply did not go to the client."""

    CLOSED = "closed"
    # They moved it to another queue: replying would silently take it back from that queue.
    TRANSFERRED_AWAY = "transferred_away"


class NotTransferred(StrEnum):
    """Why a transfer did not happen: one reason, so the specialist knows what to do."""

    UNKNOWN_QUEUE = "unknown_queue"
    SAME_QUEUE = "same_queue"
    CLOSED = "transfer_closed"
    # Open and elsewhere, yet refused: another transfer or a close got there first.
    CHANGED = "not_transferred"


class SpecialistDesk:
    """Reply, note, take, transfer and close; each returns False when nothing changed."""

    def __init__(self, deps: Deps, queues: Collection[str] = ()) -> None:
        """queues: the ids a conversation may be transferred to (any, when none are given)."""
        self._d = deps
        self._queues = frozenset(queues)

    async def reply(
        self, conversation_id: int, specialist_id: int | None, text: str,
        origin: str, dedupe_key: str | None = None, deliver: bool = True,
        attachments: tuple[Attachment, ...] = (),
    ) -> bool:
        """deliver=False records what the specialist already sent on the platform itself.

        Attachments are files the client receives with the text (which may then be empty).
        """
        return await self.reply_message(conversation_id, specialist_id, text, origin,
                                        dedupe_key, deliver, attachments) is not None

    async def reply_message(
        self, conversation_id: int, specialist_id: int | None, text: str,
        origin: str, dedupe_key: str | None = None, deliver: bool = True,
        attachments: tuple[Attachment, ...] = (),
    ) -> int | None:
        """Like reply, returning the stored message's id (None when nothing was sent)."""
        return await self._message(conversation_id, specialist_id, text, False, origin,
                                   dedupe_key, deliver, attachments)

    async def note(
        self, conversation_id: int, specialist_id: int | None, text: str, origin: str,
        dedupe_key: str | None = None,
    ) -> bool:
        return await self._message(conversation_id, specialist_id, text, True, origin,
                                   dedupe_key, deliver=False) is not None

    async def _message(
        self, conversation_id: int, specialist_id: int | None, text: str, internal: bool,
        origin: str, dedupe_key: str | None, deliver: bool,
        attachments: tuple[Attachment, ...] = (),
    ) -> int | None:
        text = text.strip()
        files = tuple(a for a in attachments if a.is_file and a.ref)
        if not text and not files:
            return None
        message_id = await self._d.store.record_specialist_message(
            conversation_id, specialist_id, text, internal, self._d.clock(), dedupe_key, deliver,
            files)
        if message_id is None:
            return None
        event = ConversationEvent(EventKind.SPECIALIST_MESSAGE, conversation_id, message_id,
                                  text, origin)
        await self._d.notifier.publish(event)
        return message_id

    async def take(self, conversation_id: int, specialist_id: int) -> bool:
        taken = await self._d.store.assign(conversation_id, specialist_id, only_if_free=True)
        if taken:
            await self._d.notifier.publish(ConversationEvent(EventKind.ASSIGNED, conversation_id,
                                                             text=str(specialist_id)))
        return taken

    async def release(self, conversation_id: int, by: int | None = None) -> bool:
        """by: the specialist who let it go, named to colleagues (none when not known)."""
        released = await self._d.store.assign(conversation_id, None, only_if_free=False)
        if released:
            await self._d.notifier.publish(ConversationEvent(
                EventKind.RELEASED, conversation_id, text="" if by is None else str(by)))
        return released

    async def transfer(
        self, conversation_id: int, queue: str, specialist_id: int | None = None,
        expected: Holder | None = None,
    ) -> bool:
        """expected: where it was and who had it when the specialist chose (none: anywhere)."""
        if self._queues and queue not in self._queues:
            return False  # a mistyped id would leave it in no queue's list
        moved = await self._d.store.transfer(conversation_id, queue, specialist_id,
                                             self._d.clock(), expected)
        if moved:
            await self._d.notifier.publish(
                ConversationEvent(EventKind.TRANSFERRED, conversation_id, text=queue,
                                  specialist_id=specialist_id))
        return moved

    async def why_not_transferred(self, conversation_id: int, queue: str) -> NotTransferred:
        """Why a transfer just refused was refused (read again, after the refusal)."""
        if self._queues and queue not in self._queues:
            return NotTransferred.UNKNOWN_QUEUE
        found = await self._d.store.get(conversation_id)
        if found is None or found[0].state is State.CLOSED:
            return NotTransferred.CLOSED
        if found[0].queue == queue:
            return NotTransferred.SAME_QUEUE
        return NotTransferred.CHANGED

    async def transferred_away(self, conversation_id: int, specialist_id: int | None) -> bool:
        """They moved it to another queue and nobody took it since: they take it back first."""
        return await self._d.store.transferred_away(conversation_id, specialist_id)

    async def why_not_sent(self, conversation_id: int, specialist_id: int | None) -> NotSent:
        """Why a reply just refused was refused (read again, after the refusal)."""
        if await self.transferred_away(conversation_id, specialist_id):
            return NotSent.TRANSFERRED_AWAY
        return NotSent.CLOSED

    async def close(self, conversation_id: int, origin: str,
                    expected: Holder | None = None) -> bool:
        found = await self._d.store.get(conversation_id)
        if found is None or found[0].state is State.CLOSED:
            return False
        conv, client = found
        now = self._d.clock()
        if not await self._d.store.close(conversation_id, now, Author.SPECIALIST, expected):
            return False
        # Its rating request in words for an app without buttons, as the client's last
        # message said, whichever process or replica closes it.
        closing = [r.for_app(client.app)
                   for r in self._d.replies.closed_by_specialist(conv.answered)]
        await self._d.store.enqueue(conv, client, closing, Author.BOT, now)
        await self._d.notifier.publish(
            ConversationEvent(EventKind.CLOSED, conversation_id, origin=origin))
        return True
