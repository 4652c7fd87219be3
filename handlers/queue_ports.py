"""Queues: routing a hand-over, the replies it waits for, the specialists' load."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


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
