"""Auto-assignment: a new hand-over goes to the least-loaded queue member on duty."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from handlers.desk import SpecialistDesk
from handlers.event_ports import ConversationEvent, EventKind
from handlers.ports import ConversationStore
from handlers.queue_ports import StaffLoad
from handlers.routing import QueueDirectory

log = logging.getLogger(__name__)

TRIGGERS = frozenset({EventKind.ESCALATED, EventKind.CRISIS, EventKind.TRANSFERRED})


class AutoAssigner:
    """A Notifier: reacts to hand-overs and transfers in queues with auto_assign switched on."""

    def __init__(self, store: ConversationStore, directory: QueueDirectory, load: StaffLoad,
                 desk: SpecialistDesk, clock: Callable[[], datetime]) -> None:
        self._store, self._directory, self._load = store, directory, load
        self._desk, self._clock = desk, clock

    async def publish(self, event: ConversationEvent) -> None:
        if event.kind not in TRIGGERS:
            return
        try:
            await self.assign(event.conversation_id)
        except Exception:
            log.exception("auto-assignment of conversation %s failed", event.conversation_id)

    async def assign(self, conversation_id: int) -> int | None:
        """The specialist who got the conversation, or None when nobody was chosen."""
        found = await self._store.get(conversation_id)
        if found is None or found[0].assigned_to is not None:
            return None
        queue = self._directory.queue_for(found[0].queue)
        if not queue.auto_assign or not queue.calendar.is_working_time(self._clock()):
            return None
        loads = await self._load.open_load(queue.members)
        if not loads:
            return None
        # Fewest open conversations first; ties go to the order of members in the settings.
        order = {login: n for n, login in enumerate(queue.members)}
        login = min(loads, key=lambda name: (loads[name][1], order[name]))
        specialist_id = loads[login][0]
        return specialist_id if await self._desk.take(conversation_id, specialist_id) else None
