"""Protocols the core depends on; storage, channels and the FAQ engine implement them."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from faq.loader import Problem
from faq.model import Entry, KnowledgeBase, MatchResult
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


class Faq(Protocol):
    @property
    def kb(self) -> KnowledgeBase: ...

    def match(self, text: str) -> MatchResult: ...


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

    async def close(self, conversation_id: int, now: datetime, by: Author) -> bool: ...

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
        messenger name is blanked and not kept again until they agree."""
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
        self, conversation_id: int, queue: str, specialist_id: int | None, now: datetime
    ) -> bool:
        """Waiting and unassigned in the new queue, the move in the history; False when it
        is closed, still with the bot, or already in that queue."""

    async def transferred_away(self, conversation_id: int, specialist_id: int | None) -> bool:
        """This specialist moved the conversation to another queue and nobody took it since:
        record_specialist_message refuses their public replies (they take it back first)."""


class EventKind(StrEnum):
    ESCALATED = "escalated"
    CLIENT_MESSAGE = "client_message"
    SPECIALIST_MESSAGE = "specialist_message"
    ASSIGNED = "assigned"
    RELEASED = "released"  # back in its queue, nobody's: every desk page shows it free again
    TRANSFERRED = "transferred"
    CLOSED = "closed"
    RATED = "rated"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERY_HELD = "delivery_held"  # a platform-wide outage holds a reply; it is retried
    REMINDER = "reminder"
    BREACH = "breach"
    CRISIS = "crisis"
    ERASED = "erased"  # the client's data was erased: staff surfaces drop or flag their copies


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    kind: EventKind
    conversation_id: int
    message_id: int | None = None
    text: str = ""
    origin: str = ""  # where a specialist's message came from, so it is not echoed back
    specialist_id: int | None = None  # who acted, where `text` says something else (a transfer)


class Notifier(Protocol):
    """Tells specialists what happened; implementations must not raise."""

    async def publish(self, event: ConversationEvent) -> None: ...


class DeliveryHandoff(Protocol):
    """The outbox worker of this process, as the store sees it."""

    @property
    def channels(self) -> Collection[str]:
        """The channels it sends: replies to others wait in the outbox for a replica that
        runs them."""
        ...

    def hand(self, deliveries: Sequence[Delivery],
             waiting: Collection[tuple[str, str]] = ()) -> None:
        """Deliveries committed and leased to it; waiting: chats (channel, address) whose
        new replies wait in the outbox behind an older one still pending."""


class Texts(Protocol):
    def render(self, name: str, **context: object) -> str: ...


@dataclass(frozen=True, slots=True)
class Routing:
    queue: str
    urgent: bool
    due_at: datetime | None
    expected_text: str
    # Whether the queue works now: out of hours nobody reads a hand-over until it opens.
    in_hours: bool = True


class Router(Protocol):
    """Chooses the queue and the promised reply time for an escalation."""

    def route(self, queue: str, urgent: bool, now: datetime) -> Routing: ...


class CrisisDetector(Protocol):
    def detect(self, text: str) -> CrisisHit | None: ...


STATES_OPEN = frozenset({State.BOT, State.WAITING, State.WITH_SPECIALIST})


@dataclass(frozen=True, slots=True)
class Delivery:
    """An outgoing message claimed from the outbox for one attempt."""

    id: int
    channel: str
    address: str
    reply: Reply
    attempts: int
    message_id: int | None
    key: str  # stable per delivery, so a retried send is recognised as the same

    @property
    def recipient(self) -> tuple[str, str]:
        """The chat it goes to: replies to one chat go out in the order they were written."""
        return self.channel, self.address


class DeliveryRetry(Exception):
    """A send failed for now; retry_after is the platform's own wish when it gave one.

    channel_down: the whole platform failed (network, server errors, a rejected token), not
    this one send: the first send that goes through again brings the held ones forward."""

    def __init__(self, reason: str, retry_after: float | None = None,
                 channel_down: bool = False) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.channel_down = channel_down


class DeliveryRefused(Exception):
    """The platform will never accept this send (blocked bot, messages forbidden)."""

    def __init__(self, reason: str, client_blocked: bool = False) -> None:
        super().__init__(reason)
        self.client_blocked = client_blocked


class ChannelSender(Protocol):
    async def send(self, address: str, reply: Reply, key: str) -> str:
        """Deliver one reply; returns the platform's message id."""


class DeliveryQueue(Protocol):
    async def claim_due(self, now: datetime, limit: int,
                        channels: Collection[str] | None = None) -> list[Delivery]:
        """Lease due deliveries, oldest first per chat; with `channels`, those of other
        channels only once no replica that runs them has sent them for hours."""
        ...

    async def mark_sent(self, sent: Sequence[tuple[int, str]], now: datetime) -> None:
        """Record deliveries (id, platform message id) as sent, all in one transaction."""

    async def mark_retry(self, delivery_id: int, at: datetime, error: str,
                         firm: bool = False) -> None:
        """Hold a delivery until `at`; firm: the platform's own time (retry_after), which the
        end of an outage does not bring forward."""

    async def conversation_of(self, delivery: Delivery) -> int | None:
        """The conversation a delivery's message belongs to."""
        ...

    async def due_now(self, channel: str, now: datetime) -> int:
        """A channel works again after an outage: its held deliveries are due at once, not
        at their backed-off retry (up to 30 minutes on); how many. Not those held at the
        platform's own retry_after (firm), nor those leased and being sent."""
        ...

    async def release(self, delivery_ids: Sequence[int], now: datetime) -> None:
        """Give back leased deliveries never attempted: due at once, for any worker."""

    async def mark_failed(
        self, delivery: Delivery, now: datetime, error: str, client_blocked: bool
    ) -> int | None:
        """Record a permanent failure; returns the conversation it belonged to."""


@dataclass(frozen=True, slots=True)
class TimelineItem:
    id: int
    author: Author
    text: str
    buttons: tuple[tuple[Button, ...], ...]
    at: datetime
    delivery: str
    attachments: tuple[Attachment, ...] = ()


class ClientTimeline(Protocol):
    async def messages_for(
        self, channel: Channel, user_id: str, after_id: int, limit: int
    ) -> list[TimelineItem]: ...

    async def attachment_of(
        self, channel: Channel, user_id: str, message_id: int, index: int
    ) -> Attachment | None:
        """An attachment of a message this client can see; None for anything else."""


@dataclass(frozen=True, slots=True)
class FileData:
    content: bytes
    name: str
    mime: str


class FileUnavailable(Exception):
    """The platform holding a file could not hand it over.

    permanent: asking again cannot help (no such file, too big); otherwise it may (network).
    """

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.permanent = permanent


class FileSource(Protocol):
    """Fetches files kept on one platform (Telegram file_id), to pass them to another."""

    async def fetch(self, attachment: Attachment) -> FileData:
        """Raises FileUnavailable when the file cannot be had."""


class InboundLog(Protocol):
    """Keeps every raw platform event before any library parses it."""

    async def keep(self, channel: str, key: str, kind: str, raw: str, now: datetime) -> bool:
        """Store the raw body; False when an event with this key was already kept."""

    async def mark(self, channel: str, key: str, status: str, error: str = "") -> None:
        """Record how processing ended: processed, skipped, failed (may be written later)."""

    async def flush(self) -> None:
        """Write every status marked so far."""

    async def unfinished(self, channel: str, before: datetime, now: datetime,
                         limit: int) -> list[str]:
        """Raw bodies kept before `before` whose processing never ended (a crash, a restart,
        a transient error), due for a replay at `now`; each is counted as tried again."""


class StaffDirectory(Protocol):
    async def ensure(self, external_id: str, display_name: str) -> int:
        """The specialist behind a platform account ("telegram:123", "vk:456"), created if new."""

    async def name_of(self, specialist_id: int) -> str:
        """Their name as the desk shows it (the display name, else the login); "" if unknown."""
        ...


class StaffThreads(Protocol):
    """Where a conversation is discussed on a staff surface (e.g. a Telegram forum topic)."""

    async def thread_of(self, conversation_id: int) -> str: ...

    async def set_thread(self, conversation_id: int, thread: str) -> None: ...

    async def conversation_of(self, thread: str) -> int | None: ...


@dataclass(frozen=True, slots=True)
class StaffPostRef:
    """A post on a staff surface, leased for deletion after its client was erased."""

    id: int
    conversation_id: int
    thread: str  # as StaffThreads keeps it
    message_id: int  # 0: the thread itself (a forum topic)
    attempts: int  # this one included
    # Why the last attempt failed, when it did: a post tried again after the bot lacked the
    # right (StaffPosts.revive) is not reported as new.
    last_error: str = ""


class StaffPosts(Protocol):
    """What a staff surface was shown of each conversation, so that an erasure of the client
    (152-ФЗ) can delete it there too."""

    async def record(self, conversation_id: int, thread: str, message_id: int,
                     now: datetime) -> None:
        """A post (or, message_id 0, a thread) made; due for deletion at once when the
        client was erased meanwhile."""

    async def claim_erasable(self, threads: str, now: datetime,
                             limit: int) -> list[StaffPostRef]:
        """Leases posts due for deletion whose thread starts with `threads`, by thread."""
        ...

    async def deleted(self, ids: Sequence[int]) -> None:
        """Gone from the surface (or already gone): nothing left to do."""

    async def retry(self, ids: Sequence[int], at: datetime, error: str) -> None: ...

    async def failed(self, ids: Sequence[int], reason: str) -> None:
        """Cannot be deleted by the bot; an administrator is told (reason: a short code)."""

    async def revive(self, threads: str, reason: str, now: datetime,
                     limit: int | None = None) -> int:
        """Posts failed for `reason` whose thread starts with `threads` become due again (the
        oldest `limit` of them, or all); how many."""
        ...


class BacklogKind(StrEnum):
    POST = "post"  # parts ready to send, in order
    OPEN = "open"  # the thread itself could not be opened: open it, then post the history
    LOST = "lost"  # a note that `lost` posts were given up on
    TITLE = "title"  # the topic to be renamed to the conversation's title now (a transfer)


@dataclass(frozen=True, slots=True)
class BacklogItem:
    """The oldest post a staff surface has not yet taken of a conversation."""

    id: int
    conversation_id: int
    kind: BacklogKind
    parts: tuple[str, ...]
    lost: int
    attempts: int  # failed ones so far
    created_at: datetime


class StaffBacklog(Protocol):
    """Posts for a staff surface kept through its outage, in order per conversation, so that a
    restart does not lose them."""

    async def add(self, conversation_id: int, surface: str, kind: BacklogKind,
                  parts: Sequence[str], now: datetime, at: datetime, error: str) -> int | None:
        """Behind what the conversation has waiting; the item's id, or None (and nothing kept)
        for an erased client."""
        ...

    async def waiting(self, conversation_id: int) -> bool: ...

    async def due(self, surface: str, now: datetime, limit: int) -> list[int]:
        """Conversations whose oldest item is due, leased to the caller for a while."""
        ...

    async def head(self, conversation_id: int) -> BacklogItem | None: ...

    async def done(self, item_id: int) -> None: ...

    async def hold(self, item_id: int, kind: BacklogKind, parts: Sequence[str],
                   at: datetime, error: str) -> None:
        """Failed again (what is left of it): tried again at `at`."""

    async def expire(self, conversation_id: int, before: datetime) -> int:
        """Gives up on items older than `before`, leaving one LOST item at the head that
        counts them; how many were given up."""
        ...


class EntryIdTaken(ValueError):
    """The knowledge base's files already have an entry with this id."""


class KnowledgeBaseBroken(ValueError):
    """The knowledge base's files do not load (with the entry added): nothing can be added
    until they are corrected."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = tuple(problems)


class KnowledgeBaseEditor(Protocol):
    """Adds an entry to the knowledge base, which serves it without a restart."""

    async def add_entry(self, entry: Entry) -> None:
        """Raises EntryIdTaken when the id is taken, KnowledgeBaseBroken when the files do
        not load with it, ValueError when it cannot be added otherwise."""


@dataclass(frozen=True, slots=True)
class WaitingTarget:
    """A handed-over conversation that still waits for its first specialist reply."""

    conversation_id: int
    queue: str
    urgent: bool
    escalated_at: datetime
    reminded: bool
    # The deadline kept at the hand-over (None in older rows: the queue's current target).
    due_at: datetime | None = None


class ReplyTargets(Protocol):
    async def waiting(self) -> list[WaitingTarget]: ...

    async def mark_reminded(self, conversation_id: int, now: datetime) -> bool:
        """True only for the first caller, so the reminder goes out once."""

    async def mark_breached(self, conversation_id: int, now: datetime) -> bool:
        """True only for the first caller, so the breach is recorded once."""


class StaffLoad(Protocol):
    async def open_load(self, logins: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Active accounts among logins: login -> (specialist id, open conversations)."""
