"""«Помогите» with no topic is asked what about; a plea with words of danger is a crisis."""

from __future__ import annotations

import pytest

from faq.model import Decision, MatchResult, SmallTalk
from faq.smalltalk import detect_smalltalk
from handlers.crisis import load_crisis_rules
from handlers.deps import Deps
from handlers.model import Action, ActionKind, ClientApp, State
from handlers.reception import Reception
from handlers.replies import ReplyBuilder
from handlers.texts import JinjaTexts
from tests.fakes import KB, Clock, FakeFaq, FakeNotifier, FakeStore
from tests.handlers.test_reception import RULES, msg, router


class SmallTalkFaq(FakeFaq):
    """FakeFaq that reads small talk as the real matcher does (faq/matcher.py)."""

    def match(self, text: str) -> MatchResult:
        kind = detect_smalltalk(text)
        return MatchResult(Decision.SMALLTALK, (), kind) if kind else super().match(text)


def reception() -> tuple[Reception, FakeStore]:
    texts, faq, store = JinjaTexts(), SmallTalkFaq(), FakeStore()
    deps = Deps(store=store, faq=faq, replies=ReplyBuilder(texts, faq), notifier=FakeNotifier(),
                router=router(texts), crisis=load_crisis_rules(RULES), clock=Clock())
    return Reception(deps), store


@pytest.mark.parametrize("text", ["помогите", "Помогите!", "помогите пожалуйста",
                                  "Нужна помощь", "мне нужна помощь", "help",
                                  "Здравствуйте, помогите пожалуйста, заранее спасибо"])
def test_a_plea_with_no_topic_is_read_as_one(text: str) -> None:
    assert detect_smalltalk(text) is SmallTalk.HELP


@pytest.mark.parametrize("text", ["помогите с субсидией", "помогите оформить пособие",
                                  "помощь", "спасибо за помощь", "вы мне очень помогли"])
def test_a_plea_with_a_topic_or_thanks_for_help_is_not(text: str) -> None:
    assert detect_smalltalk(text) is not SmallTalk.HELP


async def test_help_alone_asks_what_about_with_the_topics_and_the_specialist() -> None:
    handle, store = reception()
    await handle.handle(msg("Помогите пожалуйста"))
    reply = store.outbox[-1][1]
    assert reply.text.startswith("Я постараюсь помочь. Напишите, пожалуйста, своими словами, "
                                 "о чём ваш вопрос")
    actions = [b.action for row in reply.buttons for b in row]
    assert actions == [*(Action(ActionKind.CATEGORY, c.id) for c in KB.categories),
                       Action(ActionKind.SPECIALIST)]
    assert reply.faq_entry_id == ""
    # Without buttons, the topics are numbered and a typed number opens one.
    assert "1. " + KB.categories[0].title in reply.for_app(ClientApp(keyboard=False)).text
    assert store.conversations[1].state is State.BOT


@pytest.mark.parametrize(("text", "line"), [("помогите, мне плохо", "Вы не одни, мы поможем."),
                                            ("помогите, бьют", "звоните в полицию: 102")])
async def test_help_with_words_of_danger_goes_to_the_crisis_path_first(text: str,
                                                                        line: str) -> None:
    handle, store = reception()
    await handle.handle(msg(text))
    conversation = store.conversations[1]
    assert (conversation.state, conversation.urgent) == (State.WAITING, True)
    reply = store.outbox[-1][1].text
    assert reply.startswith("Если жизни угрожает опасность прямо сейчас, звоните 112.")
    assert line in reply and "о чём ваш вопрос" not in reply
