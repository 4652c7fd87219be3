"""VK clients' names (users.get): asked once per client, kept in memory, never in the way."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from vkbottle import API

from bots.text import to_storable

log = logging.getLogger(__name__)

CACHE_SIZE = 10_000  # clients whose names are kept; the least recently seen go first
TIMEOUT_S = 3.0  # a message waits no longer than this for its client's name


class ClientNames:
    """A VK message carries the sender's id only. The name (for the desk, the topic titles and
    the ready replies' «Уважаемая Анна Петровна») is asked once per client with users.get and
    remembered here; a failed or slow call leaves the message without a name, never holds or
    loses it, and the next message of that client asks again."""

    def __init__(self, api: API, size: int = CACHE_SIZE, timeout_s: float = TIMEOUT_S) -> None:
        self._api, self._size, self._timeout = api, size, timeout_s
        self._known: OrderedDict[int, str] = OrderedDict()

    async def of(self, user_id: int) -> str:
        if user_id in self._known:
            self._known.move_to_end(user_id)
            return self._known[user_id]
        try:
            async with asyncio.timeout(self._timeout):
                users = await self._api.users.get(user_ids=[user_id])
        except Exception as exc:  # VK down, a revoked token, a timeout: the message goes on
            log.warning("VK users.get for %s failed, stored without a name for now: %s: %s",
                        user_id, type(exc).__name__, str(exc)[:200])
            return ""
        found = next((u for u in users if u.id == user_id), None)
        # A deleted or banned page is named «DELETED» by VK: no name is better than that.
        name = "" if found is None or found.deactivated else to_storable(
            f"{found.first_name or ''} {found.last_name or ''}".strip())
        self._known[user_id] = name
        if len(self._known) > self._size:
            self._known.popitem(last=False)
        return name
