"""Several questions in one message, each answered in turn, with the sample knowledge base
and the real matcher behind the conversation core."""

from __future__ import annotations

import pytest

from faq.matcher import Matcher
from faq.model import Decision
from handlers.multi import answer_each, parts_of
from tests.handlers.sample_chat import Chat, entries


@pytest.mark.parametrize("text", [
    "Как оформить субсидию на ЖКУ? И где получить справку о составе семьи?",
    "Как оформить субсидию на ЖКУ и ещё вопрос где получить справку о составе семьи",
    "как оформить субсидию на жку, а также где получить справку о составе семьи",
])
async def test_two_questions_get_two_answers_in_order(chat: Chat, text: str) -> None:
    replies = await chat.say(text)
    assert replies[0].text.strip() == "Вы спросили о двух вещах. Отвечаю по порядку."
    assert entries(replies) == ["housing.subsidy", "lowincome.status"]
    assert chat.decision() == (Decision.ANSWER, "housing.subsidy")


async def test_questions_joined_by_a_question_word(chat: Chat) -> None:
    replies = await chat.say("сколько идёт рассмотрение и какие документы нужны для пособия")
    assert len(replies) == 3
    assert replies[1].faq_entry_id == "documents.application-status"


async def test_three_questions(chat: Chat) -> None:
    replies = await chat.say("Как оформить инвалидность? Как вызвать социальное такси? "
                             "Как получить звание ветеран труда?")
    assert "трёх" in replies[0].text
    assert entries(replies) == ["disability.mse", "homecare.social-taxi",
                                "veterans.labour-veteran-title"]


async def test_a_story_with_one_question_gets_one_answer(chat: Chat) -> None:
    # «Я ветеран труда» alone is answered (how to get the title): as a part of a message,
    # a sentence that asks nothing gets no answer of its own.
    replies = await chat.say("Я ветеран труда. Как оформить льготный проезд в транспорте?")
    assert entries(replies) == ["veterans.travel"]
    long = ("Мама лежачая, ей 82 года. Сын живёт далеко. Я сама инвалид. "
            "Как оформить социального работника на дом?")
    assert parts_of(long) == []
    assert entries(await chat.say(long)) == ["homecare.how-to-get"]


async def test_a_part_that_fails_is_not_answered(chat: Chat) -> None:
    # Only one part is answered with confidence: the message is read whole, as before.
    replies = await chat.say("Как вызвать социальное такси? И что там у вас с погодой?")
    assert len(replies) == 1
    assert entries(replies) == ["homecare.social-taxi"]
    # «какие документы нужны» alone is a clarifying question, not an answer.
    replies = await chat.say("Как вызвать социальное такси? И какие документы нужны?")
    assert len(replies) == 1


async def test_one_entry_asked_twice_is_answered_once(chat: Chat) -> None:
    replies = await chat.say("Как вызвать социальное такси? Как заказать социальное такси?")
    assert entries(replies) == ["homecare.social-taxi"]
    assert len(replies) == 1


@pytest.mark.parametrize("text", [
    "Что такое социальный контракт и кто может его заключить?",
    "Что такое ИПРА и как её изменить?",
    "Здравствуйте. Как оформить инвалидность?",
])
def test_one_question_in_two_clauses_is_not_several(sample_matcher: Matcher, text: str) -> None:
    assert answer_each(sample_matcher, text) is None
