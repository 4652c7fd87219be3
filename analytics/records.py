"""Plain records that the SQL queries produce and the metrics consume; no database types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Period:
    """Local calendar days [first, last] in the institution's zone; both ends included."""

    first: date
    last: date
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"period ends {self.last} before it starts {self.first}")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(0), self.tz)

    @property
    def end(self) -> datetime:
        """The exclusive end: local midnight after the last day."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self.tz)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


@dataclass(frozen=True, slots=True)
class Filters:
    """Empty strings mean "all"."""

    channel: str = ""
    queue: str = ""
    category: str = ""


@dataclass(frozen=True, slots=True)
class MessageRecord:
    conversation_id: int
    author: str  # client / bot / specialist / system
    created_at: datetime
    decision: str = ""  # answer / clarify / no_match / smalltalk, on client messages
    faq_entry_id: str = ""
    internal: bool = False
    specialist_id: int | None = None
    asks_rating: bool = False  # the bot's message offering the 1–5 rating buttons


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    id: int
    client_id: int
    channel: str
    category: str
    queue: str
    state: str
    urgent: bool
    opened_at: datetime
    last_activity_at: datetime
    escalated_at: datetime | None = None
    # The first-reply deadline set at the hand-over from the queue's target of that moment;
    # None in older rows (judged by the queue's current target, docs/metrics.md).
    due_at: datetime | None = None
    first_reply_at: datetime | None = None
    closed_at: datetime | None = None
    rating: int | None = None
    assigned_to: int | None = None
    client_first_seen: datetime | None = None
    messages: tuple[MessageRecord, ...] = field(default=())
    closed_by_erasure: bool = False  # closed because its client was erased (152-ФЗ)

    @property
    def repliers(self) -> tuple[int, ...]:
        """Who handled it: the specialists who replied to the client in it (notes aside), in
        the order of their first reply, whoever holds it now."""
        public = sorted((m for m in self.messages if m.author == "specialist"
                         and not m.internal and m.specialist_id), key=lambda m: m.created_at)
        return tuple(dict.fromkeys(m.specialist_id for m in public if m.specialist_id))

    @property
    def finished_at(self) -> datetime | None:
        """When it was closed as a conversation: an erasure ends it, but resolves nothing."""
        return None if self.closed_by_erasure else self.closed_at


@dataclass(frozen=True, slots=True)
class Dataset:
    """Everything one report needs: conversations opened in the period with their messages."""

    period: Period
    filters: Filters
    conversations: tuple[ConversationRecord, ...]
    specialists: dict[int, str]  # id -> display name
    categories: dict[str, str]  # id -> title, when the knowledge base is known
    as_of: datetime
