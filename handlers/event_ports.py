"""What happened in a conversation, and the Notifier that tells specialists."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


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
