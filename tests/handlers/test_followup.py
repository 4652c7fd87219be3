"""Follow-up questions after an answer, with the sample knowledge base and the real matcher
behind the conversation core."""

from __future__ import annotations

import pytest

from faq.model import Decision
from handlers.followup import looks_like_follow_up
from handlers.model import ActionKind
from tests.handlers.sample_chat import Chat, entries


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
