"""Fan-out of conversation events to every surface specialists work from."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from handlers.event_ports import ConversationEvent, Notifier

log = logging.getLogger(__name__)


class FanoutNotifier:
    """Publishes to each notifier in turn; one failing surface does not silence the others."""

    def __init__(self, notifiers: Sequence[Notifier] = ()) -> None:
        self._notifiers = list(notifiers)

    def add(self, notifier: Notifier) -> None:
        self._notifiers.append(notifier)

    async def publish(self, event: ConversationEvent) -> None:
        for notifier in self._notifiers:
            try:
                await notifier.publish(event)
            except Exception:
                log.exception("notifier %s failed on %s", type(notifier).__name__, event.kind)


class LogNotifier:
    async def publish(self, event: ConversationEvent) -> None:
        log.info("conversation %s: %s", event.conversation_id, event.kind)
