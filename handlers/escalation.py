"""The Router port over working-time queues: where a hand-over goes and when to expect it."""

from __future__ import annotations

from datetime import datetime

from handlers.ports import Texts
from handlers.queue_ports import Routing
from handlers.routing import QueueDirectory, describe_expected


class CalendarRouter:
    """Routes by queue and promises a reply time computed from the production calendar."""

    def __init__(self, directory: QueueDirectory, texts: Texts) -> None:
        self._directory = directory
        self._texts = texts

    def route(self, queue: str, urgent: bool, now: datetime) -> Routing:
        routing = self._directory.route(queue, urgent, now)
        expected = describe_expected(routing, now)
        return Routing(routing.queue_id, urgent, routing.due_at,
                       self._texts.render("expected_reply", expected=expected),
                       in_hours=routing.in_hours)
