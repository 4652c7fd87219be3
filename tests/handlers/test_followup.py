"""Follow-up questions after an answer, with the sample knowledge base and the real matcher
behind the conversation core."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from faq.loader import load_kb
from faq.matcher import Matcher, build_matcher
from faq.model import Decision
from handlers.followup import looks_like_follow_up
from handlers.model import ActionKind, Channel, IncomingMessage, Reply
from handlers.reception import Deps, Reception
from handlers.replies import ReplyBuilder
from handlers.texts import JinjaTexts
from tests.fakes import Clock, FakeNotifier, FakeStore
from tests.handlers.test_reception import Crisis, router

SAMPLE = Path(__file__).resolve().parents[2] / "kb" / "sample"
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
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


@pytest.fixture
def chat(matcher: Matcher) -> Chat:
    return Chat(matcher)


def entries(replies: list[Reply]) -> list[str]:
    return [r.faq_entry_id for r in replies if r.faq_entry_id]


# Follow-ups


@pytest.mark.parametrize(("text", "follow_up"), [
    ("а сколько это денег", True),
    ("А где это?", True),
    ("и где его оформить", True),
    ("сколько туда идти", True),
    ("Как оформить субсидию на оплату ЖКУ?", False),
    ("а я вот хотела спросить про пособие на внука которого я воспитываю", False),
    ("", False),
])
def test_what_reads_as_a_follow_up(text: str, follow_up: bool) -> None:
    assert looks_like_follow_up(text) is follow_up


async def test_a_follow_up_that_names_a_neighbouring_entry_gets_that_answer(chat: Chat) -> None:
    assert entries(await chat.say("Как оформить субсидию на оплату ЖКУ?")) == ["housing.subsidy"]
    chat.clock.advance(minutes=3)
    # Alone, «а как продлить» is a choice between the subsidy's renewal and disability.
    replies = await chat.say("а как продлить")
    assert entries(replies) == ["housing.subsidy-renewal"]
    assert chat.decision() == (Decision.ANSWER, "housing.subsidy-renewal")


async def test_a_follow_up_the_answer_covered_is_pointed_back_at(chat: Chat) -> None:
    await chat.say("Как оформить единое пособие на ребёнка?")
    chat.clock.advance(minutes=2)
    [reply] = await chat.say("а какие документы нужны")
    assert "в ответе выше" in reply.text and "Как оформить единое пособие" in reply.text
    assert reply.buttons[0][0].action.kind is ActionKind.ENTRY
    assert reply.buttons[0][0].action.value == "family.unified-allowance"
    assert reply.faq_entry_id == "family.unified-allowance"
    assert chat.decision() == (Decision.ANSWER, "family.unified-allowance")


async def test_a_typed_yes_shows_the_answer_again(chat: Chat) -> None:
    await chat.say("Как оформить единое пособие на ребёнка?")
    await chat.say("а где это")
    [reply] = await chat.say("да")
    assert reply.faq_entry_id == "family.unified-allowance"
    assert "Социальный фонд" in reply.text


async def test_a_follow_up_without_an_answer_before_is_matched_alone(chat: Chat) -> None:
    [reply] = await chat.say("а какие документы нужны")
    assert reply.faq_entry_id == ""
    assert chat.decision()[0] == Decision.CLARIFY
    assert "в ответе выше" not in reply.text


async def test_a_follow_up_half_an_hour_later_is_matched_alone(chat: Chat) -> None:
    await chat.say("Как оформить субсидию на оплату ЖКУ?")
    chat.clock.advance(minutes=31)
    replies = await chat.say("а как продлить")
    assert entries(replies) == []
    assert chat.decision()[0] == Decision.CLARIFY


async def test_a_confident_question_after_an_answer_keeps_its_own_answer(chat: Chat) -> None:
    await chat.say("Как оформить единое пособие на ребёнка?")
    # Short and opening with «а», yet answered alone: the context must not pull it to
    # the allowance.
    assert entries(await chat.say("а в субботу работаете?")) == ["centre.hours"]
    assert entries(await chat.say("А как вызвать социальное такси?")) == ["homecare.social-taxi"]


async def test_a_later_other_reply_ends_the_context(chat: Chat) -> None:
    await chat.say("Как оформить субсидию на оплату ЖКУ?")
    await chat.say("меню")
    assert entries(await chat.say("а как продлить")) == []


async def test_the_topic_alone_does_not_answer_a_neighbour(chat: Chat) -> None:
    # With the topic of technical aids, «а сколько это стоит» matched the social taxi: an
    # entry of another topic that the words alone did not suggest is offered, not answered.
    await chat.say("Как получить технические средства реабилитации (ТСР)?")
    replies = await chat.say("а сколько это стоит")
    assert entries(replies) == []
    assert chat.decision()[0] == Decision.CLARIFY
