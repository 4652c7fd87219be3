"""A client's chat with the conversation core, the sample knowledge base and the real matcher."""

from __future__ import annotations

import itertools
from pathlib import Path

from faq.loader import load_kb
from faq.matcher import Matcher, build_matcher
from handlers.deps import Deps
from handlers.model import Channel, IncomingMessage, Reply
from handlers.reception import Reception
from handlers.replies import ReplyBuilder
from handlers.texts import JinjaTexts
from tests.fakes import Clock, FakeNotifier, FakeStore
from tests.handlers.test_reception import Crisis, router

SAMPLE = Path(__file__).resolve().parents[2] / "kb" / "sample"
_ids = itertools.count(1)


def build_sample_matcher() -> Matcher:
    return build_matcher(load_kb([SAMPLE]))


class Chat:
    """One client's chat with the core: what they write, what the bot sends back."""

    def __init__(self, matcher: Matcher) -> None:
        texts = JinjaTexts()
        self.clock, self.store = Clock(), FakeStore()
        deps = Deps(store=self.store, faq=matcher, replies=ReplyBuilder(texts, matcher),
                    notifier=FakeNotifier(), router=router(texts), crisis=Crisis(),
                    clock=self.clock)
        self.reception = Reception(deps)

    async def say(self, text: str) -> list[Reply]:
        before = len(self.store.outbox)
        await self.reception.handle(IncomingMessage(
            Channel.TELEGRAM, "u1", str(next(_ids)), text, "Анна"))
        return [reply for _, reply in self.store.outbox[before:]]

    def decision(self) -> tuple[str, str]:
        """The judgement recorded for the client's latest message."""
        last = [m for m in self.store.messages if m.author == "client"][-1]
        return last.decision, last.entry_id


def entries(replies: list[Reply]) -> list[str]:
    """The knowledge-base entries the replies answer, in order."""
    return [r.faq_entry_id for r in replies if r.faq_entry_id]
