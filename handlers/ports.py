"""The conversation store the core depends on, with the texts and crisis ports beside it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from faq.model import MatchResult
from handlers.crisis import CrisisHit
from handlers.model import (
    Attachment,
    Author,
    Button,
    Channel,
    ClientRef,
    ConversationRef,
    IncomingMessage,
    Recorded,
    Reply,
    State,
)


@dataclass(frozen=True, slots=True)
class Escalation:
    queue: str
    category: str
    urgent: bool
    due_at: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class Annotation:
    """How the FAQ judged an incoming message, stored with the replies it led to."""

    message_id: int
    match: MatchResult | None
    category: str


@dataclass(frozen=True, slots=True)
class Holder:
    """Where a conversation is and who has it, as an action saw it: a close or a transfer
    expecting it changes nothing once a colleague's move has got there first."""

    queue: str
    assigned_to: int | None


@dataclass(frozen=True, slots=True)
class HistoryItem:
    message_id: int
    author: Author
    text: str
    at: datetime
    internal: bool = False
    attachments: tuple[Attachment, ...] = ()
    # A button pressed ("entry:…", "start") or a desk event ("transfer:a>b"), "" for text.
    action: str = ""
    specialist_id: int | None = None  # who wrote it, for a specialist's message or note


class ConversationStore(Protocol):
    """Persistence of clients, conversations and messages; each call is one unit of work."""

    async def record_incoming(
        self, msg: IncomingMessage, now: datetime, open_new: bool = True
    ) -> Recorded | None:
        """Store the message first of all; None when this event was already stored.

        After a closed conversation a new one is opened, unless open_new is False.
        """

    async def annotate(
        self, message_id: int, match: MatchResult | None, category: str
    ) -> None: ...

    async def escalate(self, conversation_id: int, esc: Escalation, now: datetime) -> bool: ...

    async def close(self, conversation_id: int, now: datetime, by: Author,
                    expected: Holder | None = None) -> bool: ...

    async def rate(self, conversation_id: int, rating: int, now: datetime) -> bool: ...

    async def last_closed(self, client_id: int) -> ConversationRef | None: ...

    async def set_consent(self, client_id: int, now: datetime, display_name: str = "") -> None:
        """The client agreed: their messenger name (given with the agreeing message) is kept
        from now on, also after an earlier refusal."""
        ...

    async def await_consent(self, conversation_id: int) -> None:
        """The client asked for a specialist and was asked to agree first
        (ConversationRef.awaiting_consent until the hand-over)."""
        ...

    async def decline_consent(self, conversation_id: int) -> None:
        """The client declined the consent notice: the conversation waits for it no more, and
        the personal data in its client messages is masked where stored (handlers.pii), with
        the raw platform copies of the client's processed events deleted; the client's
        messenger name is blanked, and their later messages (ClientRef.declined) are stored
        masked, until they agree."""
        ...

    async def erase_client(self, client_id: int, now: datetime, by: str = "client") -> list[int]:
        """Erases the client's personal data (152-ФЗ); returns the ids of their
        conversations, whose copies on staff surfaces must be dealt with (EventKind.ERASED).
        Asked by the client ("client"), the erasure is recorded in the audit too: an
        administrator's ("admin") is recorded by the admin page, with who did it."""
        ...

    async def enqueue(
        self, conv: ConversationRef, client: ClientRef, replies: Sequence[Reply],
        author: Author, now: datetime, specialist_id: int | None = None,
        annotation: Annotation | None = None,
    ) -> list[int]:
        """Store outgoing messages and their outbox rows (and the annotation) at once."""

    async def history(self, conversation_id: int, limit: int = 50) -> list[HistoryItem]: ...

    async def get(self, conversation_id: int) -> tuple[ConversationRef, ClientRef] | None: ...

    async def last_offer(self, channel: Channel, user_id: str) -> tuple[tuple[Button, ...], ...]:
        """The buttons of the client's latest message when the bot sent it, else none."""
        ...

    async def open_conversation_of(
        self, channel: Channel, user_id: str
    ) -> ConversationRef | None:
        """The client's conversation that is not closed, if any (e.g. for a platform inbox)."""

    async def set_blocked(
        self, channel: Channel, user_id: str, blocked: bool, now: datetime
    ) -> None:
        """The client forbade (or allowed again) messages from us on their platform."""

    async def recent_incoming_ids(
        self, channel: Channel, user_id: str, limit: int
    ) -> list[str]:
        """Platform ids of the client's latest stored messages, newest first (catch-up)."""

    async def record_specialist_message(
        self, conversation_id: int, specialist_id: int | None, text: str, internal: bool,
        now: datetime, dedupe_key: str | None = None, deliver: bool = True,
        attachments: tuple[Attachment, ...] = (),
    ) -> int | None:
        """Store a specialist's message; a public one moves the conversation to a human.

        deliver=False records a message the specialist already sent on the platform itself.
        """

    async def assign(
        self, conversation_id: int, specialist_id: int | None, only_if_free: bool
    ) -> bool: ...

    async def transfer(
        self, conversation_id: int, queue: str, specialist_id: int | None, now: datetime,
        expected: Holder | None = None,
    ) -> bool:
        """Waiting and unassigned in the new queue, the move in the history; False when it
        is closed, still with the bot, already in that queue, or no longer `expected`."""

    async def transferred_away(self, conversation_id: int, specialist_id: int | None) -> bool:
        """This specialist moved the conversation to another queue and nobody took it since:
        record_specialist_message refuses their public replies (they take it back first)."""


class Texts(Protocol):
    def render(self, name: str, **context: object) -> str: ...


class CrisisDetector(Protocol):
    def detect(self, text: str) -> CrisisHit | None: ...


STATES_OPEN = frozenset({State.BOT, State.WAITING, State.WITH_SPECIALIST})
