"""Simple defaults for ports: a router without working hours and no crisis rules."""

from __future__ import annotations

from datetime import datetime

from handlers.ports import Routing, Texts


class PlainRouter:
    """Routes to the category's queue (or the default one) without a promised time."""

    def __init__(self, texts: Texts, default_queue: str = "default") -> None:
        self._texts = texts
        self._default = default_queue

    def route(self, queue: str, urgent: bool, now: datetime) -> Routing:
        return Routing(queue or self._default, urgent, None,
                       self._texts.render("expected_reply_default"))


class NoCrisisRules:
    def detect(self, text: str) -> str | None:
        return None
