"""What the conversation core is built from: its ports and the reply builder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from faq.model import Decision, MatchResult
from handlers.event_ports import Notifier
from handlers.faq_ports import Faq
from handlers.ports import ConversationStore, CrisisDetector
from handlers.queue_ports import Router
from handlers.replies import ReplyBuilder

# Per-process memories (who was told what, albums) are emptied past this many conversations.
MAX_NOTED = 10_000


@dataclass(frozen=True, slots=True)
class Deps:
    store: ConversationStore
    faq: Faq
    replies: ReplyBuilder
    notifier: Notifier
    router: Router
    crisis: CrisisDetector
    clock: Callable[[], datetime]

    def category_of(self, match: MatchResult) -> str:
        best = match.best
        # A clarifying question's first option is a guess: it must not file the conversation.
        if best is None or match.decision is not Decision.ANSWER:
            return ""
        entry = self.faq.kb.entry(best.entry_id)
        return entry.category if entry else ""
