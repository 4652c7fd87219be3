"""DeskHub: conversation events to every open desk page, in process (one replica)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from handlers.event_ports import ConversationEvent

# A page that stops reading loses events beyond this; it refreshes itself once a minute anyway.
MAX_QUEUED = 100


class DeskHub:
    """A Notifier; every subscriber (an open /desk/events stream) gets its own queue."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[ConversationEvent | None]] = set()

    async def publish(self, event: ConversationEvent) -> None:
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[ConversationEvent | None]]:
        queue: asyncio.Queue[ConversationEvent | None] = asyncio.Queue(MAX_QUEUED)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def close(self) -> None:
        """Ends every stream, so that shutdown does not wait for open pages."""
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
