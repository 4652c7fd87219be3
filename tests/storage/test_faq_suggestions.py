"""Which client message a FAQ suggestion proposes as the question, on a real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from faq.model import Decision, MatchResult
from handlers.model import Channel, IncomingMessage
from storage.conversations import SqlConversationStore
from storage.faq_suggestions import SqlFaqSuggestions, choose_question
from storage.models import FaqSuggestion

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize(("messages", "question"), [
    # Newest first, as the store reads them.
    ([("спасибо", "smalltalk"), ("+7 912 345-67-89", ""), ("алло?", ""),
      ("Как оформить субсидию на ЖКУ?", "no_match"), ("Здравствуйте", "smalltalk")],
     "Как оформить субсидию на ЖКУ?"),
    ([("алло?", ""), ("Пособие на ребёнка", "clarify"), ("Где вы находитесь", "answer")],
     "Пособие на ребёнка"),
    # Never judged by the FAQ (typed while waiting): the latest phrase of a few words.
    ([("Вы тут?", ""), ("8 912 345 67 89", ""), ("Когда придёт пособие по уходу", ""),
      ("Добрый день", "smalltalk")], "Когда придёт пособие по уходу"),
    ([("алло?", ""), ("да", "")], "алло?"),  # nothing better: the latest, as before
    ([], ""),
])
def test_the_question_is_what_the_bot_could_not_answer(
        messages: list[tuple[str, str]], question: str) -> None:
    assert choose_question(messages) == question


async def test_a_suggestion_after_small_talk_proposes_the_unanswered_question(sessions) -> None:
    store = SqlConversationStore(sessions)
    texts = ["Как оформить субсидию на ЖКУ?", "алло?", "+7 912 345-67-89", "спасибо"]
    message_ids = []
    for n, text in enumerate(texts):
        rec = await store.record_incoming(
            IncomingMessage(Channel.VK, "42", f"e{n}", text, "Мария"), NOW)
        assert rec is not None
        message_ids.append(rec.message_id)
    await store.annotate(message_ids[0], MatchResult(Decision.NO_MATCH, ()), "")
    await store.annotate(message_ids[3], MatchResult(Decision.SMALLTALK, ()), "")
    reply = await store.record_specialist_message(
        rec.conversation.id, None, "Субсидию оформляют в МФЦ.", False, NOW)
    assert reply is not None
    assert await SqlFaqSuggestions(sessions).suggest(reply, None, NOW) is not None
    async with sessions() as s:
        suggestion = (await s.scalars(select(FaqSuggestion))).one()
    assert suggestion.question == "Как оформить субсидию на ЖКУ?"
