"""Staff surfaces: specialists' accounts, their threads, posts and the posts' backlog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


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
