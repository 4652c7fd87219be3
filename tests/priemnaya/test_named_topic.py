"""The acceptance scenarios of a topic named in a request for a person, on the sample KB."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from handlers.model import Action, ActionKind, Channel, IncomingMessage
from priemnaya.faq_setup import build_faq
from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from storage.models import Conversation
from tests.fakes import Clock

_events = itertools.count(1)


@pytest.mark.parametrize(("channel", "first", "request_", "category", "queue"), [
    (Channel.VK, "как оформить субсидию на жку", "мне нужен специалист по инвалидности",
     "disability", "disability"),
    (Channel.TELEGRAM, "какой у вас график работы",
     "ОПЕРАТОР! мне нужна помощь с компенсацией за капремонт", "housing", "housing"),
    (Channel.VK, "как оформить субсидию на жку", "хочу поговорить с человеком",
     "housing", "housing"),
], ids=["vk-disability", "telegram-capital-repair", "no-topic-keeps-housing"])
async def test_the_topic_of_the_request_wins_over_the_earlier_question(
        database_url: str, channel: Channel, first: str, request_: str, category: str,
        queue: str) -> None:
    settings = Settings(database={"url": database_url})
    rt = build_runtime(settings, build_faq(settings), clock=Clock())
    try:
        for text, action in ((first, None), (request_, None),
                             ("Согласен", Action(ActionKind.CONSENT, "specialist"))):
            await rt.reception.handle(IncomingMessage(channel, "100", str(next(_events)), text,
                                                      "Валентина Петровна", action=action))
        async with rt.sessions() as s:
            conv = await s.scalar(select(Conversation))
        assert conv is not None
        assert (conv.state, conv.category, conv.queue) == ("waiting_specialist", category, queue)
    finally:
        await rt.engine.dispose()
