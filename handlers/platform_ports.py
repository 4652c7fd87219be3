"""What the core takes from a platform besides messages: its files and its raw events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from handlers.model import Attachment


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
