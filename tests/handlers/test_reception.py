"""The conversation core with in-memory fakes: states, commands, dedupe, consent."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from faq.model import Candidate, Category, Decision, Entry, KnowledgeBase, MatchResult, SmallTalk
from handlers.crisis import CrisisHit, CrisisKind, load_crisis_rules
from handlers.deps import Deps
from handlers.desk import SpecialistDesk
from handlers.escalation import CalendarRouter
from handlers.event_ports import EventKind
from handlers.model import (
    Action,
    ActionKind,
    Attachment,
    AttachmentKind,
    Author,
    Channel,
    ClientApp,
    IncomingMessage,
    State,
)
from handlers.ports import CrisisDetector
from handlers.reception import Reception
from handlers.replies import ReplyBuilder
from handlers.routing import QueueDirectory
from handlers.texts import JinjaTexts
from tests.fakes import KB, Clock, FakeFaq, FakeNotifier, FakeStore

_ids = itertools.count(1)
RULES = Path(__file__).resolve().parents[2] / "config" / "crisis_rules.yaml"


class Crisis:
    def detect(self, text: str) -> CrisisHit | None:
        if "не хочу жить" not in text:
            return None
        return CrisisHit("suicide", CrisisKind.SUICIDE, "crisis_help", "не хочу жить")


def router(texts: JinjaTexts, *more: dict[str, object]) -> CalendarRouter:
    from priemnaya.settings import Settings
    from priemnaya.settings_work import build_queue_directory

    queues = [{"id": q, "title": q} for q in ("general", "urgent", "housing")]
    settings = Settings(queues=[*queues, *more])
    directory: QueueDirectory = build_queue_directory(
        settings.calendar, settings.queues, "general", "urgent")
    return CalendarRouter(directory, texts)


World = tuple[Reception, SpecialistDesk, FakeStore, FakeNotifier]
# Saturday noon in Yekaterinburg: the calendar's next working moment is Monday 8:30.
SATURDAY = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def build_world(clock: Clock, crisis: CrisisDetector | None = None,
                *queues: dict[str, object]) -> World:
    texts = JinjaTexts()
    faq = FakeFaq()
    store, notifier = FakeStore(), FakeNotifier()
    deps = Deps(store=store, faq=faq, replies=ReplyBuilder(texts, faq), notifier=notifier,
                router=router(texts, *queues), crisis=crisis or Crisis(), clock=clock)
    return Reception(deps), SpecialistDesk(deps), store, notifier


@pytest.fixture
def world() -> World:
    return build_world(Clock())


def msg(text: str = "", action: Action | None = None, user: str = "u1",
        event: str | None = None) -> IncomingMessage:
    return IncomingMessage(Channel.TELEGRAM, user, event or str(next(_ids)), text, "Анна",
                           action=action)


def last_reply(store: FakeStore) -> str:
    return store.outbox[-1][1].text


async def test_faq_answer_with_specialist_and_menu_buttons(world) -> None:
    reception, _, store, _ = world
    assert await reception.handle(msg("Как оформить единое пособие?"))
    reply = store.outbox[-1][1]
    assert reply.text.startswith("Единое пособие оформляют через Госуслуги")
    assert "https://www.gosuslugi.ru/" in reply.text
    assert reply.faq_entry_id == "family.allowance"
    actions = [b.action.kind for row in reply.buttons for b in row]
    assert actions == [ActionKind.SPECIALIST, ActionKind.MENU]
    assert store.messages[0].decision == "answer"
    assert store.conversations[1].category == "family"


async def test_duplicate_delivery_is_stored_once_and_not_answered_twice(world) -> None:
    reception, _, store, _ = world
    assert await reception.handle(msg("Как оформить единое пособие?", event="e-1"))
    assert not await reception.handle(msg("Как оформить единое пособие?", event="e-1"))
    assert [m.author for m in store.messages] == [Author.CLIENT, Author.BOT]
    assert len(store.outbox) == 1


async def test_clarify_offers_candidates_as_buttons(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("оформить пособие или капитал"))
    reply = store.outbox[-1][1]
    entry_buttons = [b.action.value for row in reply.buttons for b in row
                     if b.action.kind is ActionKind.ENTRY]
    assert 2 <= len(entry_buttons) <= 3
    assert reply.text.startswith("Уточните")
    await reception.handle(msg(action=Action(ActionKind.ENTRY, entry_buttons[0])))
    assert store.outbox[-1][1].faq_entry_id == entry_buttons[0]
    choice = store.messages[-2]
    assert (choice.decision, choice.entry_id) == ("answer", entry_buttons[0])


async def test_clarify_lists_the_options_by_number(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("оформить пособие или капитал"))
    text = last_reply(store)
    assert "1. Как оформить единое пособие?" in text
    assert "2. Как получить областной материнский капитал?" in text
    assert "напишите его номер" in text


@pytest.mark.parametrize("typed", ["2", "2.", "№ 2", "второй", "Вариант 2"])
async def test_a_typed_number_picks_that_option(world, typed: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("оформить пособие или капитал"))
    options = [b.action.value for row in store.outbox[-1][1].buttons for b in row
               if b.action.kind is ActionKind.ENTRY]
    await reception.handle(msg(typed))
    assert store.outbox[-1][1].faq_entry_id == options[1]
    choice = store.messages[-2]
    assert (choice.text, choice.decision, choice.entry_id) == (typed, "answer", options[1])


async def test_a_typed_number_picks_a_category_of_the_menu(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.MENU)))
    await reception.handle(msg("2"))
    assert last_reply(store).startswith("Субсидии ЖКУ")


@pytest.mark.parametrize("typed", ["7", "да"])
async def test_a_number_or_yes_without_such_an_option_is_matched_as_text(
    world, typed: str
) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("оформить пособие или капитал"))  # 2 options: no "yes" either
    await reception.handle(msg(typed))
    assert "не нашёл" in last_reply(store)


async def test_yes_confirms_a_single_option(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CATEGORY, "housing")))
    await reception.handle(msg("да"))
    assert store.outbox[-1][1].faq_entry_id == "housing.subsidy"


@pytest.mark.parametrize("typed", ["ничего не подходит", "Нет, не то", "другое"])
async def test_none_of_these_typed_is_the_way_out_of_a_clarification(world, typed: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("оформить пособие или капитал"))
    none_of_these = store.outbox[-1][1].buttons[-1][0].action
    assert none_of_these.kind is ActionKind.SPECIALIST
    await reception.handle(msg(typed))
    typed_reply = last_reply(store)
    assert "не нашёл" not in typed_reply
    await reception.handle(msg(action=none_of_these))  # the same as pressing it
    assert last_reply(store) == typed_reply


async def test_no_after_an_answer_is_just_text(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg("нет"))
    assert "не нашёл" in last_reply(store)


async def test_a_number_after_an_answer_is_just_text(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg("1"))
    assert "не нашёл" in last_reply(store)


async def test_no_match_offers_specialist(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("где купить дрова"))
    reply = store.outbox[-1][1]
    assert "не нашёл" in reply.text
    assert reply.buttons[0][0].action.kind is ActionKind.SPECIALIST


@pytest.mark.parametrize("typed", ["да", "Да, передайте", "передайте специалисту", "хорошо",
                                   "да передайте пожалуйста", "давайте"])
async def test_yes_to_the_no_match_offer_hands_the_question_over(world, typed: str) -> None:
    reception, _, store, notifier = world
    await reception.handle(msg("где купить дрова"))
    await reception.handle(msg(typed))
    notice = store.outbox[-1][1]
    assert notice.buttons[0][0].action == Action(ActionKind.CONSENT, "specialist")
    await reception.handle(msg("согласна"))
    assert store.conversations[1].state is State.WAITING
    assert [e.kind for e in notifier.events] == [EventKind.ESCALATED]
    # The question the bot could not answer stays the unanswered one, not the «да».
    unanswered = [m.text for m in store.messages if m.decision == Decision.NO_MATCH]
    assert unanswered == ["где купить дрова"]


@pytest.mark.parametrize("typed", ["да", "хорошо"])
async def test_yes_after_an_answer_offers_no_hand_over(world, typed: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg(typed))
    assert store.conversations[1].state is State.BOT
    assert not store.conversations[1].awaiting_consent


@pytest.mark.parametrize("lost", ["не понял", "Не поняла", "непонятно", "ничего не понятно"])
async def test_lost_after_an_answer_is_explained_once_then_handed_over(world, lost) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg(lost))
    again = store.outbox[-1][1]
    assert again.text.startswith("Попробую проще. Если ответ непонятен")
    assert [b.action.kind for row in again.buttons for b in row] == [
        ActionKind.SPECIALIST, ActionKind.MENU]
    assert not store.conversations[1].awaiting_consent
    await reception.handle(msg(lost))
    assert store.conversations[1].awaiting_consent  # the consent notice, then the hand-over


async def test_lost_after_choices_repeats_them_simply(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("оформить пособие или капитал"))
    options = [b.action for row in store.outbox[-1][1].buttons for b in row
               if b.action.kind is ActionKind.ENTRY]
    await reception.handle(msg("не поняла"))
    again = store.outbox[-1][1]
    assert again.text.startswith("Попробую проще. Выберите, что вам подходит")
    assert "2. Как получить областной материнский капитал?" in again.text
    assert [b.action for row in again.buttons for b in row][:len(options)] == options
    await reception.handle(msg("2"))
    assert store.outbox[-1][1].faq_entry_id == options[1].value


async def test_lost_twice_after_the_menu_hands_over_with_consent_given(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))  # its reply is the menu
    await reception.handle(msg("ничего не понятно"))
    assert store.conversations[1].state is State.BOT
    assert "1. Семьи с детьми" in last_reply(store)
    await reception.handle(msg("я не поняла"))
    assert store.conversations[1].state is State.WAITING


@pytest.mark.parametrize("asked", ["а вы кто робот или человек", "это робот?",
                                   "вы живой человек?", "Здравствуйте, а вы робот?"])
async def test_are_you_a_robot_is_answered_plainly_with_the_way_to_a_person(
        world, asked: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(asked))
    reply = store.outbox[-1][1]
    assert reply.text.startswith("Я — программа-помощник, а не человек.")
    assert "«Задать вопрос специалисту»" in reply.text
    assert reply.buttons[0][0].action.kind is ActionKind.SPECIALIST
    assert store.conversations[1].state is State.BOT
    assert not store.conversations[1].awaiting_consent
    assert store.messages[0].decision == Decision.SMALLTALK


async def test_a_document_number_before_consent_is_remarked_on_once(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Мой СНИЛС 112-233-445 95, где купить дрова"))
    said = [reply.text for _, reply in store.outbox]
    assert said[0].startswith("Номера документов — СНИЛС, паспорта")
    assert "не нашёл" in said[1]  # the question is answered as ever, its buttons last
    assert store.messages[0].text == "Мой СНИЛС 112-233-445 95, где купить дрова"
    await reception.handle(msg("паспорт 6512 123456"))
    assert sum("Номера документов" in reply.text for _, reply in store.outbox) == 1


@pytest.mark.parametrize("text", ["перезвоните мне 89123456789", "где купить дрова"])
async def test_a_phone_or_no_number_is_not_remarked_on(world, text: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(text))
    assert not any("Номера документов" in reply.text for _, reply in store.outbox)


async def test_a_document_number_after_consent_is_not_remarked_on(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg("Мой СНИЛС 112-233-445 95"))
    assert not any("Номера документов" in reply.text for _, reply in store.outbox)


class FaqWithContacts(FakeFaq):
    kb = KnowledgeBase(KB.categories, (*KB.entries, Entry(
        "centre.contacts", "family", "Как связаться с центром?", "Телефон: +7 (343) 000-00-00.")))

    def match(self, text: str) -> MatchResult:
        if "связаться" in text:
            return MatchResult(Decision.ANSWER, (Candidate("centre.contacts", 1.0),))
        return super().match(text)


def test_declining_consent_offers_the_knowledge_bases_contacts() -> None:
    reply = ReplyBuilder(JinjaTexts(), FaqWithContacts()).consent_declined()
    assert "позвоните в центр или приходите туда в часы приёма" in reply.text
    assert "Как связаться с центром — по кнопке «Как связаться с центром?»" in reply.text
    assert "связаться с центром, напишите «Как связаться с центром?»" in reply.typed_text
    options = [b.action for row in reply.buttons for b in row]
    assert options[:3] == [Action(ActionKind.CATEGORY, "family"),
                           Action(ActionKind.CATEGORY, "housing"),
                           Action(ActionKind.ENTRY, "centre.contacts")]


def test_declining_consent_without_contacts_says_to_call_or_come() -> None:
    reply = ReplyBuilder(JinjaTexts(), FakeFaq()).consent_declined()
    assert "позвоните в центр или приходите туда в часы приёма" in reply.text
    assert "по кнопке" not in reply.text
    assert ActionKind.ENTRY not in [b.action.kind for row in reply.buttons for b in row]


async def test_the_greeting_says_consent_is_needed_only_for_a_specialist(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.START)))
    greeting = store.outbox[-1][1]
    assert "Спрашивайте сразу: согласие нужно, только чтобы" in greeting.text
    assert "только чтобы передать ваш вопрос специалисту" in greeting.text
    assert "чтобы продолжить" not in greeting.text
    assert "Согласие можно дать сразу: нажмите «Согласен(на)»." in greeting.text
    assert "напишите «согласен» или «согласна»." in greeting.typed_text


async def test_smalltalk_is_polite_not_no_match(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("спасибо"))
    assert last_reply(store).startswith("Пожалуйста")



@pytest.mark.parametrize("kind", list(SmallTalk))
def test_every_kind_of_small_talk_has_its_own_reply(kind: SmallTalk) -> None:
    replies = ReplyBuilder(JinjaTexts(), FakeFaq())
    text = replies.for_match(MatchResult(Decision.SMALLTALK, (), kind)).text
    others = {replies.for_match(MatchResult(Decision.SMALLTALK, (), k)).text
              for k in SmallTalk if k is not kind}
    assert text and text not in others


async def test_specialist_requires_consent_then_escalates(world) -> None:
    reception, _, store, notifier = world
    await reception.handle(msg("Как получить субсидию на ЖКУ?"))
    await reception.handle(msg(action=Action(ActionKind.SPECIALIST)))
    assert store.conversations[1].state is State.BOT
    consent = store.outbox[-1][1].buttons[0][0].action
    assert consent == Action(ActionKind.CONSENT, "specialist")
    await reception.handle(msg(action=consent))
    conv = store.conversations[1]
    assert conv.state is State.WAITING
    assert conv.queue == "housing"
    assert store.clients[1].consent_at is not None
    assert "передан специалисту" in last_reply(store)
    assert [e.kind for e in notifier.events] == [EventKind.ESCALATED]


async def test_escalation_is_idempotent(world) -> None:
    reception, _, store, notifier = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg("специалист"))
    await reception.handle(msg("Специалист!"))
    assert store.conversations[1].state is State.WAITING
    assert "уже передан специалистам" in last_reply(store)
    assert [e.kind for e in notifier.events] == [EventKind.ESCALATED]


async def test_while_waiting_only_a_sure_answer_is_recorded_as_the_bots(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg(action=Action(ActionKind.SPECIALIST)))
    assert store.conversations[1].state is State.WAITING
    await reception.handle(msg("субсидию или пособие"))  # the fake clarifies this
    await reception.handle(msg("Как оформить единое пособие?"))
    decisions = [m.decision for m in store.messages if m.author is Author.CLIENT and m.text]
    assert decisions[-2:] == ["", Decision.ANSWER]


async def test_bot_is_silent_while_specialist_holds_conversation(world) -> None:
    reception, desk, store, notifier = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    assert await desk.reply(1, 7, "Здравствуйте, я специалист.", origin="desk")
    assert store.conversations[1].state is State.WITH_SPECIALIST
    sent = len(store.outbox)
    await reception.handle(msg("Как оформить единое пособие?"))
    assert len(store.outbox) == sent
    assert notifier.events[-1].kind is EventKind.CLIENT_MESSAGE


async def test_internal_note_is_not_sent_to_client(world) -> None:
    reception, desk, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    sent = len(store.outbox)
    assert await desk.note(1, 7, "проверить доход", origin="desk")
    assert len(store.outbox) == sent
    assert store.messages[-1].internal


async def test_close_rate_and_new_message_starts_with_bot(world) -> None:
    reception, desk, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    await desk.reply(1, 7, "Ответ", origin="desk")
    assert await desk.close(1, origin="desk")
    assert not await desk.close(1, origin="desk")
    assert store.conversations[1].state is State.CLOSED
    rating_buttons = store.outbox[-1][1].buttons[0]
    assert [b.label for b in rating_buttons] == ["1", "2", "3", "4", "5"]
    await reception.handle(msg(action=rating_buttons[4].action))
    assert store.ratings == {1: 5}
    assert len(store.conversations) == 1  # the rating did not open a new conversation
    await reception.handle(msg("Как оформить единое пособие?"))
    assert store.conversations[2].state is State.BOT
    assert store.outbox[-1][1].faq_entry_id == "family.allowance"


async def test_a_specialist_closing_an_unanswered_question_asks_no_rating(world) -> None:
    reception, desk, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    assert await desk.take(1, 7)
    assert await desk.close(1, origin="desk")
    closing = store.outbox[-1][1]
    assert closing.text.startswith("Обращение закрыто специалистом.")
    assert ActionKind.RATE not in [b.action.kind for row in closing.buttons for b in row]
    await reception.handle(msg("5"))
    assert store.ratings == {}


async def test_closing_a_question_nobody_answered_asks_first_and_asks_no_rating(
        world) -> None:
    reception, _, store, notifier = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    close = store.outbox[-1][1].buttons[0][0].action
    await reception.handle(msg(action=close))
    confirm = store.outbox[-1][1]
    assert confirm.text.startswith("Точно отменить вопрос? Специалист ещё не ответил")
    assert store.conversations[1].state is State.WAITING
    keep = confirm.buttons[1][0].action
    await reception.handle(msg(action=keep))
    assert store.conversations[1].state is State.WAITING
    assert "уже передан специалистам" in last_reply(store)
    await reception.handle(msg(action=close))
    await reception.handle(msg(action=store.outbox[-1][1].buttons[0][0].action))
    assert store.conversations[1].state is State.CLOSED
    cancelled = store.outbox[-1][1]
    assert cancelled.text.startswith("Хорошо, ваш вопрос отменён")
    assert ActionKind.RATE not in [b.action.kind for row in cancelled.buttons for b in row]
    assert notifier.events[-1].kind is EventKind.CLOSED


@pytest.mark.parametrize(("typed", "state"), [("да", State.CLOSED), ("нет", State.WAITING)])
async def test_the_close_confirmation_answered_in_words(world, typed: str, state) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    await reception.handle(msg("/close"))
    await reception.handle(msg(typed))
    assert store.conversations[1].state is state


async def test_closing_after_a_specialist_answered_asks_for_a_rating_at_once(world) -> None:
    reception, desk, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    assert await desk.reply(1, 7, "Здравствуйте, я специалист.", origin="desk")
    await reception.handle(msg(action=Action(ActionKind.CLOSE)))
    assert store.conversations[1].state is State.CLOSED
    assert last_reply(store).startswith("Обращение завершено. Оцените")


@pytest.mark.parametrize("back", ["release", "transfer"])
async def test_a_reply_counts_after_the_conversation_went_back_to_a_queue(
        world, back: str) -> None:
    reception, desk, store, _ = world
    await reception.handle(msg("оператор!", action=Action(ActionKind.CONSENT, "specialist")))
    assert await desk.take(1, 7)
    assert await desk.reply(1, 7, "Здравствуйте! Ответ: справку выдают в МФЦ.", origin="desk")
    assert await (desk.release(1, by=7) if back == "release" else desk.transfer(1, "housing", 7))
    assert store.conversations[1].state is State.WAITING
    await reception.handle(msg(action=Action(ActionKind.CLOSE)))
    assert store.conversations[1].state is State.CLOSED
    assert last_reply(store).startswith("Обращение завершено. Оцените")
    await reception.handle(msg("2"))
    assert store.ratings == {1: 2}


async def test_a_taken_question_nobody_answered_is_cancelled_only_when_confirmed(
        world) -> None:
    reception, desk, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    assert await desk.take(1, 7)
    await reception.handle(msg(action=Action(ActionKind.CLOSE)))
    assert last_reply(store).startswith("Точно отменить вопрос?")
    await reception.handle(msg("да"))
    assert store.conversations[1].state is State.CLOSED
    assert last_reply(store).startswith("Хорошо, ваш вопрос отменён")


async def test_the_close_button_of_an_old_message_opens_nothing(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("/close"))
    await reception.handle(msg(action=Action(ActionKind.RATE, "5")))
    await reception.handle(msg(action=Action(ActionKind.CLOSE)))
    assert len(store.conversations) == 1 and store.ratings == {1: 5}
    assert last_reply(store).startswith("Это обращение уже завершено")
    assert store.messages[-2].conversation_id == 1  # the press is kept, on the closed one


async def test_rating_out_of_range_asks_again(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("/close"))
    await reception.handle(msg(action=Action(ActionKind.RATE, "9")))
    assert store.ratings == {}
    assert "от 1" in last_reply(store)
    await reception.handle(msg(action=Action(ActionKind.RATE, "4")))
    assert store.ratings == {1: 4}


@pytest.mark.parametrize("value", ["9", "0", "x"])
async def test_a_crafted_rating_in_an_open_conversation_is_not_expected(
    world, value: str
) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg(action=Action(ActionKind.RATE, value)))
    assert store.ratings == {}
    assert store.conversations[1].state is State.BOT
    assert last_reply(store).startswith("Спасибо! Сейчас нечего оценивать")


async def test_client_can_close_and_rate(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("/close"))
    assert store.conversations[1].state is State.CLOSED
    await reception.handle(msg(action=Action(ActionKind.RATE, "3")))
    assert store.ratings == {1: 3}


@pytest.mark.parametrize("typed", ["5", "5!", "номер 5"])
async def test_a_typed_rating_rates_the_closed_conversation(world, typed: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("/close"))
    await reception.handle(msg(typed))
    assert store.ratings == {1: 5}
    assert len(store.conversations) == 1  # the rating did not open a new conversation
    assert store.messages[-2].text == typed  # the client's words are kept as they came


async def test_a_rating_out_of_range_typed_asks_again(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg(action=Action(ActionKind.CLOSE)))
    await reception.handle(msg("7"))
    assert store.outbox[-1][1].buttons[0][0].action.kind is ActionKind.RATE
    await reception.handle(msg("5"))
    assert last_reply(store).startswith("Спасибо за оценку")


async def test_a_number_is_a_rating_only_right_after_the_question(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("/close"))
    await reception.handle(msg(action=Action(ActionKind.RATE, "4")))
    await reception.handle(msg("5"))  # the bot's last message is the thanks, not the question
    assert store.ratings == {1: 4}
    assert len(store.conversations) == 2


async def test_crisis_message_escalates_urgently_with_help_lines(world) -> None:
    reception, _, store, notifier = world
    await reception.handle(msg("мне очень плохо, не хочу жить"))
    conv = store.conversations[1]
    assert conv.state is State.WAITING and conv.urgent
    assert "112" in last_reply(store) and "8-800-2000-122" in last_reply(store)
    # An adult's line too, and every sentence group on a line of its own.
    lines = last_reply(store).splitlines()
    assert lines[1] == "Специалист центра уже получил ваше сообщение."
    assert lines[2].startswith("Психологическая помощь МЧС России: 8-495-989-50-50")
    assert lines[3].startswith("Детский телефон доверия") and lines[3].endswith("родители.")
    assert lines[4] == "Вы не одни, мы поможем."
    assert notifier.events[0].kind is EventKind.CRISIS


async def test_a_crisis_is_filed_under_the_one_category_of_the_urgent_queue() -> None:
    reception, _, store, _ = build_world(Clock())
    faq = reception._d.faq
    assert store.escalations == {}
    await reception.handle(msg("мне очень плохо, не хочу жить"))
    assert store.escalations[1].category == ""  # no category names the urgent queue
    kb = dataclasses.replace(faq.kb, categories=(
        *faq.kb.categories, Category("crisis", "Срочная помощь", "urgent")))
    reception, _, store, _ = build_world(Clock())
    reception._d.faq.kb = kb
    await reception.handle(msg("мне очень плохо, не хочу жить"))
    assert store.escalations[1].category == "crisis"


async def test_crisis_out_of_hours_promises_no_reader_and_says_when() -> None:
    reception, _, store, notifier = build_world(Clock(SATURDAY))
    await reception.handle(msg("мне очень плохо, не хочу жить"))
    assert store.conversations[1].urgent and notifier.events[0].kind is EventKind.CRISIS
    text = last_reply(store)
    assert "уже получил" not in text
    lines = text.splitlines()
    assert lines[0].startswith("Если жизни угрожает опасность прямо сейчас, звоните 112.")
    assert lines[1].startswith("Психологическая помощь МЧС России")
    assert lines[3].endswith("в рабочее время: в понедельник, 30 ноября, после 8:30.")
    assert lines[4] == "Если помощь нужна раньше, звоните по телефонам выше."


async def test_crisis_of_several_kinds_shows_the_help_lines_of_each() -> None:
    reception, _, store, _ = build_world(Clock(), crisis=load_crisis_rules(RULES))
    await reception.handle(msg("не хочу больше жить, сын бьёт меня"))
    text = last_reply(store)
    assert "8-495-989-50-50" in text and "8-800-7000-600" in text
    assert text.count("8-800-2000-122") == 1


async def test_forget_asks_confirmation_then_erases(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg("/forget"))
    assert store.outbox[-1][1].buttons[0][0].action.kind is ActionKind.FORGET_CONFIRM
    assert not store.erased
    await reception.handle(msg(action=Action(ActionKind.FORGET_CONFIRM)))
    assert store.erased == {1}
    assert all(m.text == "" for m in store.messages if m.client_id == 1
               and m.author is Author.CLIENT)
    assert "удалены" in store.outbox[-1][1].text


async def test_forget_confirm_without_the_question_just_before_asks_it(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg(action=Action(ActionKind.FORGET_CONFIRM)))  # never asked
    assert not store.erased
    assert store.outbox[-1][1].buttons[0][0].action.kind is ActionKind.FORGET_CONFIRM
    await reception.handle(msg(action=Action(ActionKind.FORGET_CONFIRM)))  # asked now
    assert store.erased == {1}


async def test_forget_confirm_after_other_words_since_the_question_asks_again(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("/forget"))
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg(action=Action(ActionKind.FORGET_CONFIRM)))  # an old button
    assert not store.erased
    assert store.outbox[-1][1].buttons[0][0].action.kind is ActionKind.FORGET_CONFIRM


@pytest.mark.parametrize("text", [
    "удалите мои данные",
    "Удалите, пожалуйста, все мои персональные данные",
    "забудьте меня",
    "отзываю согласие на обработку персональных данных",
    "удолите мои данные",  # spelt as heard
    "забутьте меня пожалуста",
    "elfkbnt vjb lfyyst",  # «удалите мои данные» with the Latin layout on
])
async def test_erasure_asked_in_own_words_asks_confirmation(world, text: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(text))
    assert store.outbox[-1][1].buttons[0][0].action.kind is ActionKind.FORGET_CONFIRM
    assert not store.erased


@pytest.mark.parametrize("text", [
    "как удалить мои данные с госуслуг",
    "удалите моё сообщение, я ошиблась",  # one message, not everything
])
async def test_erasure_elsewhere_is_a_question_not_a_request(world, text: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(text))
    assert all(b.action.kind is not ActionKind.FORGET_CONFIRM
               for row in store.outbox[-1][1].buttons for b in row)


async def test_a_question_typed_instead_of_consent_waits_for_it(world) -> None:
    reception, _, store, notifier = world
    await reception.handle(msg(action=Action(ActionKind.SPECIALIST)))
    await reception.handle(msg("мне не пришла выплата за ноябрь, что делать"))
    reminder = store.outbox[-1][1]
    assert "сообщение сохранено" in reminder.text
    assert reminder.buttons[0][0].action == Action(ActionKind.CONSENT, "specialist")
    # Kept for the specialist, not a clarification or a no-match of the bot's (analytics).
    held = next(m for m in store.messages if m.text.startswith("мне не пришла"))
    assert held.decision == ""
    assert store.conversations[1].state is State.BOT
    await reception.handle(msg(action=reminder.buttons[0][0].action))
    assert store.conversations[1].state is State.WAITING
    assert [e.kind for e in notifier.events] == [EventKind.ESCALATED]


async def test_a_sure_answer_is_given_even_while_consent_is_asked(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.SPECIALIST)))
    await reception.handle(msg("Как оформить единое пособие?"))
    assert store.outbox[-1][1].faq_entry_id is not None
    # Without a request for a specialist an unknown question is a plain no-match.
    await reception.handle(msg("мне не пришла выплата за ноябрь, что делать", user="u2"))
    assert "сообщение сохранено" not in last_reply(store)


@pytest.mark.parametrize("typed", ["согласна", "Согласен(на)", "да"])
async def test_consent_typed_instead_of_pressed_is_consent(world, typed: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.SPECIALIST)))
    await reception.handle(msg(typed))
    assert store.clients[1].consent_at is not None
    assert store.conversations[1].state is State.WAITING


@pytest.mark.parametrize("declined", [
    msg("нет, не согласна"), msg(action=Action(ActionKind.CONSENT, "decline"))])
async def test_declining_consent_hides_the_personal_data_already_written(
        world, declined) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Моя пенсия, СНИЛС 112-233-445 95, тел 8 912 345-67-89"))
    await reception.handle(msg(action=Action(ActionKind.SPECIALIST)))
    notice = store.outbox[-1][1]
    assert [b.label for row in notice.buttons for b in row] == [
        "Согласен(на)", "Не согласен(на)"]
    await reception.handle(msg("Иванова Мария Петровна, ул. Ленина 5-12"))
    await reception.handle(dataclasses.replace(declined, event_id=str(next(_ids))))
    assert store.clients[1].consent_at is None
    assert not store.conversations[1].awaiting_consent
    reply = store.outbox[-1][1]
    assert reply.text.startswith("Хорошо, без согласия специалист не сможет ответить")
    assert "Задать вопрос специалисту" in [b.label for row in reply.buttons for b in row]
    texts = [m.text for m in store.messages if m.author is Author.CLIENT]
    assert texts[:3] == ["Моя пенсия, СНИЛС [СНИЛС], тел [телефон]", "",
                         "[ФИО], [адрес]"]
    # Asking again later works as before: the notice comes back.
    await reception.handle(msg(action=Action(ActionKind.SPECIALIST)))
    assert store.outbox[-1][1].text.startswith("Чтобы специалист мог ответить вам лично")


async def test_a_client_who_declined_is_shown_to_the_staff_masked(world) -> None:
    """A crisis hands over a client who declined consent: what they write next reaches the
    staff group and the desk as it is stored, masked."""
    reception, _, store, notifier = world
    await reception.handle(msg("оператор!"))
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "decline")))
    await reception.handle(msg("мне очень плохо, не хочу жить"))
    await reception.handle(msg("мой телефон 89001234567, СНИЛС 112-233-445 95"))
    masked = "мой телефон [телефон], СНИЛС [СНИЛС]"
    assert [m.text for m in store.messages if m.author is Author.CLIENT][-1] == masked
    assert notifier.events[-1].kind is EventKind.CLIENT_MESSAGE
    assert notifier.events[-1].text == masked


async def test_the_greetings_consent_button_hands_over_a_pending_request(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.START)))
    await reception.handle(msg("хочу поговорить с человеком"))
    await reception.handle(msg("у меня отключили газ за долги"))
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))  # the greeting's button
    assert store.clients[1].consent_at is not None
    assert store.conversations[1].state is State.WAITING


@pytest.mark.parametrize(("typed", "state"), [
    ("согласна", State.WAITING), ("нет", State.BOT),
    ("согласна, но у меня ещё вопрос про пенсию", State.WAITING),
    ("я согласна на соцконтракт, что нужно?", State.BOT)])
async def test_consent_typed_after_a_bot_answer_in_between(world, typed, state) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("оператор!"))
    await reception.handle(msg("Как оформить единое пособие?"))  # answered in between
    await reception.handle(msg(typed))
    assert (store.clients[1].consent_at is not None) is (state is State.WAITING)
    assert store.conversations[1].state is state
    # «…на соцконтракт» agrees to something else: the notice still waits for an answer.
    still_asked = typed.startswith("я согласна на")
    assert store.conversations[1].awaiting_consent is still_asked


async def test_declining_after_agreeing_keeps_the_data(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg("тел 8 912 345-67-89"))
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "decline")))
    assert store.clients[1].consent_at is not None
    assert "тел 8 912 345-67-89" in [m.text for m in store.messages]
    assert store.outbox[-1][1].text.startswith("Выберите тему")


async def test_erasure_confirmed_or_declined_in_words(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg("/forget"))
    await reception.handle(msg("нет, передумал"))
    assert not store.erased and last_reply(store).startswith("Выберите тему")
    await reception.handle(msg("/forget"))
    await reception.handle(msg("да"))
    assert store.erased == {1}


async def test_asking_again_for_a_specialist_while_waiting_says_so(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg("хочу поговорить со специалистом"))
    assert store.conversations[1].state is State.WAITING
    await reception.handle(msg("хочу поговорить со специалистом"))
    assert last_reply(store).startswith("Ваш вопрос уже передан специалистам.")
    assert "Вам ответят в рабочее время, самое позднее — завтра до 15:00." in last_reply(store)
    assert len(store.escalations) == 1


async def test_asking_again_out_of_hours_says_when_not_that_a_specialist_has_it() -> None:
    reception, _, store, _ = build_world(Clock(SATURDAY))
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg("оператор!"))
    await reception.handle(msg("оператор!"))
    text = last_reply(store)
    assert "уже у специалиста" not in text
    assert text.startswith("Ваш вопрос уже передан специалистам.")
    assert "Специалист ответит в рабочее время: в понедельник, 30 ноября, после 8:30." in text
    await reception.handle(msg(action=Action(ActionKind.SPECIALIST)))  # the button, too
    assert last_reply(store) == text


async def test_words_while_waiting_get_a_word_back_now_and_then() -> None:
    clock = Clock(SATURDAY)
    reception, _, store, notifier = build_world(clock)
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    sent = len(store.outbox)
    await reception.handle(msg("вы тут? я жду"))
    assert len(store.outbox) == sent + 1
    text = last_reply(store)
    assert text.startswith("Ваше сообщение добавлено к обращению, специалист его прочитает.")
    assert "в понедельник, 30 ноября, после 8:30" in text
    await reception.handle(msg("алло"))  # a minute later: no second notice
    await reception.handle(msg("спасибо"))
    assert len(store.outbox) == sent + 1
    clock.advance(minutes=9)
    await reception.handle(msg("ау"))  # within ten minutes: still none
    assert len(store.outbox) == sent + 1
    clock.advance(minutes=2)
    await reception.handle(msg("ну где же вы"))
    assert len(store.outbox) == sent + 2
    clock.advance(minutes=11)
    await reception.handle(msg("спасибо"))  # thanks need no notice
    assert len(store.outbox) == sent + 2
    client_messages = [e for e in notifier.events if e.kind is EventKind.CLIENT_MESSAGE]
    assert len(client_messages) == 6  # every one of them reaches the specialists


@pytest.mark.parametrize("asked", ["алло", "когда ответите", "ну где же вы", "ау"])
async def test_asking_after_the_specialist_while_waiting_is_answered_with_when(asked) -> None:
    clock = Clock(SATURDAY)
    reception, _, store, _ = build_world(clock)
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    clock.advance(minutes=1)
    await reception.handle(msg(asked))
    assert "в понедельник, 30 ноября, после 8:30" in last_reply(store)
    assert store.messages[-2].text == asked


async def test_the_web_chat_hand_over_says_the_answer_comes_to_this_window(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    assert "в этом окне чата" not in last_reply(store)  # Telegram brings the answer itself
    web = IncomingMessage(Channel.WEB, "w1", "e1", "", "", action=Action(
        ActionKind.CONSENT, "specialist"))
    await reception.handle(web)
    assert "Ответ появится здесь, в этом окне чата." in last_reply(store)


async def test_asking_again_once_a_specialist_has_taken_it_says_so(world) -> None:
    reception, desk, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    await desk.reply(1, 7, "Здравствуйте, я специалист.", origin="desk")
    await reception.handle(msg(action=Action(ActionKind.SPECIALIST)))
    assert last_reply(store).startswith("Ваш вопрос уже у специалиста")


async def test_a_clarifying_question_does_not_file_the_conversation(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("субсидию или пособие"))  # the fake clarifies this
    assert store.conversations[1].category == ""


async def test_start_shows_consent_until_given_then_menu(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("/start"))
    first = store.outbox[-1][1]
    assert "согласие" in first.text
    assert first.buttons[0][0].action.kind is ActionKind.CONSENT
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg("Начать"))
    labels = [b.label for row in store.outbox[-1][1].buttons for b in row]
    assert "Семьи с детьми" in labels and "Субсидии ЖКУ" in labels


async def test_category_lists_its_entries(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CATEGORY, "family")))
    values = [b.action.value for row in store.outbox[-1][1].buttons for b in row
              if b.action.kind is ActionKind.ENTRY]
    assert values == ["family.allowance", "family.capital"]


@pytest.mark.parametrize(("kinds", "said"), [
    (("photo",), "Файл получен"), (("photo", "document"), "Файл получен"),
    (("sticker",), "Спасибо за стикер!"), (("voice",), "Голосовые и видеосообщения"),
    (("location",), "Место на карте получено"), (("contact",), "Контакт получен"),
    (("sticker", "photo"), "Файл получен")])
async def test_attachment_only_message_is_acknowledged(world, kinds, said) -> None:
    from handlers.model import Attachment, AttachmentKind

    reception, _, store, _ = world
    message = IncomingMessage(Channel.VK, "u9", "p1", "", attachments=tuple(
        Attachment(AttachmentKind(kind), f"https://vk.example/{kind}") for kind in kinds))
    await reception.handle(message)
    assert last_reply(store).startswith(said)


async def test_huge_message_is_matched_on_its_start_only(world) -> None:
    reception, _, store, _ = world
    assert await reception.handle(msg("а" * 50_000))
    assert store.messages[0].text == "а" * 50_000
    assert "не нашёл" in last_reply(store)


async def test_reply_already_sent_on_the_platform_is_recorded_not_delivered(world) -> None:
    reception, desk, store, notifier = world
    await reception.handle(msg("Как оформить единое пособие?"))
    sent = len(store.outbox)
    assert await desk.reply(1, 7, "Ответ из сообщений сообщества", origin="vk",
                            dedupe_key="vk:reply:1", deliver=False)
    assert not await desk.reply(1, 7, "Ответ из сообщений сообщества", origin="vk",
                                dedupe_key="vk:reply:1", deliver=False)
    assert len(store.outbox) == sent
    assert store.conversations[1].state is State.WITH_SPECIALIST
    assert (notifier.events[-1].kind, notifier.events[-1].origin) == (
        EventKind.SPECIALIST_MESSAGE, "vk")


async def test_open_conversation_of_finds_the_clients_open_one(world) -> None:
    reception, desk, store, _ = world
    assert await store.open_conversation_of(Channel.TELEGRAM, "u1") is None
    await reception.handle(msg("Как оформить единое пособие?"))
    found = await store.open_conversation_of(Channel.TELEGRAM, "u1")
    assert found is not None and found.id == 1
    assert await store.open_conversation_of(Channel.VK, "u1") is None
    await desk.close(1, origin="desk")
    assert await store.open_conversation_of(Channel.TELEGRAM, "u1") is None


async def test_fake_store_keeps_the_blocked_state(world) -> None:
    _, _, store, _ = world
    await store.set_blocked(Channel.VK, "7", True, datetime(2026, 1, 1, tzinfo=UTC))
    assert store.blocked == {"vk:7"}
    await store.set_blocked(Channel.VK, "7", False, datetime(2026, 1, 1, tzinfo=UTC))
    assert store.blocked == set()


@pytest.mark.parametrize("text", [
    "хочу поговорить с живым человеком про субсидию, у меня долг за квартиру",
    "Соедините со специалистом пожалуйста по пенсии",
    "можно связаться со специалистом по инвалидности?",
    "ОПЕРАТОРА позовите",
    "хочу поговорить с человеком",
    "можно с человеком поговорить",
    "можно со специалистом связаться по субсидии?",
    "мне нужен живой человек",
    "хочу специалиста",
    "нужна консультация специалиста по опеке",
    "переключите на сотрудника",
    "Оператор!",
    "оператора пожалуйста",
    "хочу к специалисту",
    "можно специалиста?",
    "оператор, мне нужна помощь с субсидией",
    "Оператор! Мой СНИЛС 112-233-445 95",
    "Специалист: не могу разобраться с пособием",
    "живой человек, ответьте",
    "к специалисту по субсидиям, пожалуйста",
    "дайте оператора",
    "позовите человека",
    "переведите меня на оператора",
    "передайте мой вопрос специалисту",
    "хочу к живому человеку",
    "человека дайте",
    "ну специалиста позовите, пожалуйста",
    "[jxe gjujdjhbnm c xtkjdtrjv",  # «хочу поговорить с человеком», Latin layout on
    "хачу с челавекам пагаварить",  # spelt as heard
    "Можно с кем-нибудь поговорить?",
    "пазовите аператора",
    "можна спицыалиста",
    "хочю с операторам",
    "нужин специалист",
    "можна чилавека?",
    # A letter dropped, doubled or mistyped, a Latin look-alike in a Cyrillic word.
    "нужен спецалист",
    "нужен специалст",
    "позовите оператра",
    "соедените с челoвеком",
    "хочу поговорить с челловеком",
    "можно консультатна?",
    # After a greeting, as elderly clients write.
    "Здравствуйте. Оператор, мне нужна помощь с субсидией",
    "Здравствуйте, оператор, мне нужна помощь",
    "Добрый день. Оператор!",
    # A call back is asked of a person.
    "перезвоните мне пожалуйста",
    "Перезвоните мне, пожалуйста, 8 912 345-67-89",
    "позвоните мне",
    "позвоните мне на номер 89123456789",
    "свяжитесь со мной",
    "можете мне перезвонить?",
    "жду вашего звонка",
])
async def test_asking_for_a_person_in_a_sentence_hands_over(world, text: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg(text))
    assert store.conversations[1].state is State.WAITING


@pytest.mark.parametrize("text", [
    "Как получить субсидию на ЖКУ?",
    "специалист по субсидиям принимает по вторникам?",
    "кооператив не платит, что делать",
    "какие документы нужны специалисту по опеке",
    "человек с инвалидностью какие льготы",
    "социальный работник на дом как оформить",
    "нужен ли специалист для оформления опеки",
    "сколько человек может жить в квартире по соцнайму",
    "можно ли пойти на курсы оператора 1с от биржи",
    "Здравствуйте, я оператор котельной, положена ли мне льгота",
    "Здравствуйте, специалист который занимается субсидиями где сидит?",
    "хочу выучиться на сварщика или оператора, это бесплатно можно?",
    "жалоба на специалиста",
    "телефон специалиста дайте",
    "специалиста дайте телефон",
    "как дойти до специалиста по опеке",
    "можно человека прописать в квартире",
    "жалоба на сотрудника мсэ куда",
    "дайте телефон специалиста",
    "телефон оператора",
    "оператор котельной вакансии",
    "зарплата специалиста по соцработе",
    "Специалист, который ведёт моё дело, уволился. Кто теперь?",
    "хочу записаться к специалисту по субсидиям на четверг",
    "сколько специалистов в центре",
    "доход на человека как считать",
    "Оператор — это кто в вашем центре?",
    "можно сотрудникам бюджетной сферы получить субсидию?",
    "какая помощь нужна человеку после инсульта",
    # One edit from a person word, and words of its own: no slip to respell.
    "нужна сотрудница в детский сад, где вакансии?",
    "хочу специалитет или бакалавриат, что лучше для льготы",
    "нужны операторы на производство, пособие сохранится?",
])
async def test_ordinary_questions_are_not_taken_for_a_request_for_a_person(world,
                                                                         text: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg(text))
    assert store.conversations[1].state is State.BOT


def test_greeting_names_the_institution_from_settings_over_the_kbs() -> None:
    faq = FakeFaq()
    faq.kb = dataclasses.replace(faq.kb, institution="ЦСО из базы знаний")
    kb_named = ReplyBuilder(JinjaTexts(), faq).greeting(consented=True).text
    named = ReplyBuilder(JinjaTexts(), faq, "КЦСОН Кировского района").greeting(True).text
    assert "«ЦСО из базы знаний»" in kb_named
    assert "«КЦСОН Кировского района»" in named and "базы знаний" not in named


@pytest.mark.parametrize("name", [
    "ГАУ «Комплексный центр Кировского района» (пример)",
    'ГАУ "КЦСОН Кировского района"',
])
def test_greeting_does_not_quote_a_name_that_has_its_own_quotes(name: str) -> None:
    text = ReplyBuilder(JinjaTexts(), FakeFaq(), name).greeting(consented=True).text
    assert text.startswith(f"Здравствуйте! Я помощник {name}.\n")


@pytest.mark.parametrize(("typed", "rating"), [
    ("пять", 5), ("5 спасибо вам большое дочка", 5), ("ставлю 4 балла, спасибо", 4),
    ("три", 3), ("Отлично, пять с плюсом!", 5), ("ставлю пятёрку", 5), ("5+", 5),
    ("отлично", 5), ("четвёрка", 4), ("отлично спасибо", 5), ("Всё отлично!", 5),
    ("всё отлично, дай бог здоровья", 5), ("очень плохо", 1)])
async def test_a_rating_typed_in_words_or_with_thanks(world, typed: str, rating: int) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg(action=Action(ActionKind.CLOSE)))
    await reception.handle(msg(typed))
    assert store.ratings == {1: rating}


async def test_a_number_opening_a_question_is_no_rating(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg(action=Action(ActionKind.CLOSE)))
    await reception.handle(msg("5 лет ребенку, какое пособие положено?"))
    assert store.ratings == {}


@pytest.mark.parametrize(("text", "queue"), [
    ("позовите оператора: как получить субсидию на ЖКУ?", "housing"),
    ("хочу поговорить с человеком", "general"),
])
async def test_asking_for_a_person_about_a_topic_goes_to_its_queue(world, text, queue) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg(text))
    assert store.conversations[1].state is State.WAITING
    assert store.escalations[1].queue == queue


def _family_answers_in_an_hour() -> World:
    """The family queue promises a reply within an hour: on Monday 15:00 in Yekaterinburg
    its hand-over says «не позднее 16:00», the other queues' the next day."""
    return build_world(Clock(), None, {"id": "family", "title": "family",
                                       "first_reply_hours": 1})


@pytest.mark.parametrize("consented", [True, False])
async def test_a_topic_named_in_the_request_wins_over_the_earlier_question(
        consented: bool) -> None:
    reception, _, store, _ = _family_answers_in_an_hour()
    if consented:
        await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg("Как получить субсидию на ЖКУ?"))
    assert store.conversations[1].category == "housing"
    await reception.handle(msg("позовите оператора: как оформить единое пособие?"))
    if not consented:
        assert store.conversations[1].state is State.BOT  # the consent notice first
        await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    assert store.escalations[1].queue == "family"
    assert store.conversations[1].category == "family"
    assert "не позднее 16:00" in last_reply(store)  # the family queue's own target


async def test_a_request_naming_no_topic_keeps_the_earlier_questions() -> None:
    reception, _, store, _ = _family_answers_in_an_hour()
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg("хочу поговорить с человеком"))
    assert store.escalations[1].queue == "family"
    assert "не позднее 16:00" in last_reply(store)


@pytest.mark.parametrize("thanks", ["Спасибо большое, храни вас Господь, дай бог здоровья!",
                                    "Дай Бог вам здоровья, дочка!", "до свидания",
                                    "Благослови вас Господь, спасибо огромное",
                                    "спасибо большое, вы мне очень помогли", "Спаси Христос"])
async def test_thanks_instead_of_a_rating_asks_again_and_the_rating_still_counts(
        world, thanks: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("Как оформить единое пособие?"))
    await reception.handle(msg(action=Action(ActionKind.CLOSE)))
    await reception.handle(msg(thanks))
    again = store.outbox[-1][1]
    assert "оцените, пожалуйста" in again.text
    assert [b.action.kind for row in again.buttons for b in row] == [ActionKind.RATE] * 5
    assert len(store.conversations) == 1  # the thanks opened no conversation of their own
    await reception.handle(msg("4"))
    assert store.ratings == {1: 4}


async def test_the_photos_of_an_album_get_one_reply() -> None:
    clock = Clock()
    reception, _, store, _ = build_world(clock)
    photo = (Attachment(AttachmentKind.PHOTO, "P1"),)

    def album_photo(album: str, text: str = "") -> IncomingMessage:
        return dataclasses.replace(msg(text), attachments=photo, album=album)

    await reception.handle(album_photo("A1"))
    await reception.handle(album_photo("A1"))  # the second photo: stored, not answered
    assert len(store.outbox) == 1 and len(store.messages) == 3
    await reception.handle(album_photo("A1", "а это про субсидию?"))  # its own words: read
    assert len(store.outbox) == 2
    clock.advance(seconds=11)
    await reception.handle(album_photo("A1"))  # long after: not the same burst
    await reception.handle(album_photo("B2"))  # another album
    assert len(store.outbox) == 4


@pytest.mark.parametrize("typed", ["согласна", "Хорошо, согласна!", "даю согласие"])
async def test_consent_typed_long_after_the_greeting_is_taken(world, typed: str) -> None:
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.START)))
    await reception.handle(msg("Как оформить единое пособие?"))  # the notice is long gone
    await reception.handle(msg(typed))
    assert store.clients[1].consent_at is not None
    assert last_reply(store).startswith("Спасибо! Согласие сохранено.")


async def test_a_latin_layout_request_is_no_crisis_topic(world) -> None:
    """The words left after the request are read converted, as the request was; and a topic
    guessed from them never routes to the urgent queue."""
    reception, _, store, _ = world
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg("[jxe gjujdjhbnm c xtkjdtrjv"))
    assert store.escalations[1].queue == "general" and not store.escalations[1].urgent


def _renamed(monkeypatch: pytest.MonkeyPatch, old: str, new: str, question: str = "") -> None:
    """The knowledge base reloaded with an entry's id changed (and its question, if given)."""
    import tests.fakes

    entries = tuple(dataclasses.replace(e, id=new, question=question or e.question)
                    if e.id == old else e for e in tests.fakes.KB.entries)
    kb = dataclasses.replace(tests.fakes.KB, entries=entries, _by_id={})
    monkeypatch.setattr(tests.fakes, "KB", kb)
    monkeypatch.setattr(FakeFaq, "kb", kb)


@pytest.mark.parametrize("pressed", ["button", "typed"])
async def test_an_old_button_of_a_renamed_entry_is_answered_from_the_new_id(
    world, monkeypatch: pytest.MonkeyPatch, pressed: str
) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("оформить пособие или капитал"))
    _renamed(monkeypatch, "family.allowance", "family.edinoe-posobie")
    old = Action(ActionKind.ENTRY, "family.allowance")
    await reception.handle(msg(action=old) if pressed == "button" else msg("1"))
    reply = store.outbox[-1][1]
    assert reply.faq_entry_id == "family.edinoe-posobie"
    assert reply.text.startswith("Единое пособие оформляют")
    choice = store.messages[-2]
    assert (choice.decision, choice.entry_id) == ("answer", "family.edinoe-posobie")


async def test_an_old_button_nothing_matches_now_offers_a_specialist(
    world, monkeypatch: pytest.MonkeyPatch
) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("оформить пособие или капитал"))
    _renamed(monkeypatch, "family.allowance", "family.gone", question="Про уголь")
    await reception.handle(msg("1"))
    reply = store.outbox[-1][1]
    assert "не нашёл" in reply.text and "Выберите тему" not in reply.text
    assert next(b.action.kind for row in reply.buttons for b in row) is ActionKind.SPECIALIST
    assert store.messages[-2].decision == "no_match"
    # A button of an older message, whose label is no longer the last offer: the same.
    await reception.handle(msg(action=Action(ActionKind.ENTRY, "family.allowance")))
    assert "не нашёл" in last_reply(store)


async def test_an_old_keyboard_button_sent_with_its_label_is_matched_by_it(
    world, monkeypatch: pytest.MonkeyPatch
) -> None:
    # VK's keyboard sends the label as the text: a button of an older message still has it.
    reception, _, store, _ = world
    _renamed(monkeypatch, "housing.subsidy", "housing.subsidiya")
    await reception.handle(msg("Как получить субсидию на ЖКУ?",
                               action=Action(ActionKind.ENTRY, "housing.subsidy")))
    assert store.outbox[-1][1].faq_entry_id == "housing.subsidiya"


async def test_an_agreement_after_a_refusal_keeps_the_name_it_came_with(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("позовите оператора"))
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "decline")))
    assert store.clients[1].display_name == ""
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    assert store.clients[1].display_name == "Анна"


@pytest.mark.parametrize(("kind", "caption"), [
    ("document", "Заявление во вложении"), ("photo", "вот фото моей справки"),
    ("photo", "получить")])  # «получить» alone is clarified without a file
async def test_a_file_with_a_caption_that_is_no_question_is_acknowledged_as_a_file(
        world, kind: str, caption: str) -> None:
    from handlers.model import Attachment, AttachmentKind

    reception, _, store, _ = world
    await reception.handle(IncomingMessage(Channel.VK, "u9", "f1", caption, attachments=(
        Attachment(AttachmentKind(kind), "https://vk.example/f"),)))
    [(_, reply)] = store.outbox
    assert reply.text.startswith("Файл получен. Я умею отвечать только на текстовые вопросы")
    assert [b.action.kind for row in reply.buttons for b in row] == [
        ActionKind.SPECIALIST, ActionKind.MENU]
    assert store.messages[0].decision == ""  # not a gap in the knowledge base


async def test_a_file_with_a_question_as_its_caption_gets_both(world) -> None:
    from handlers.model import Attachment, AttachmentKind

    reception, _, store, _ = world
    await reception.handle(IncomingMessage(
        Channel.TELEGRAM, "u9", "f1", "Как оформить единое пособие?",
        attachments=(Attachment(AttachmentKind.PHOTO, "file-id"),)))
    ack, answer = (reply for _, reply in store.outbox)
    assert ack.text.startswith("Файл получен — его посмотрит специалист") and not ack.buttons
    assert answer.text.startswith("Единое пособие оформляют")
    assert store.messages[0].decision is Decision.ANSWER


async def test_a_reply_that_says_press_carries_what_to_type_instead(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("позовите специалиста"))
    notice = store.outbox[-1][1]
    assert "Нажмите «Согласен(на)»" in notice.text
    assert "Напишите «согласен» или «согласна»" in notice.typed_text
    await reception.handle(msg("Как оформить единое пособие?"))
    assert store.outbox[-1][1].typed_text == ""  # an answer says nothing about buttons


async def test_the_menu_without_buttons_lists_the_topics_by_number(world) -> None:
    reception, _, store, _ = world
    await reception.handle(msg("меню"))
    menu = store.outbox[-1][1]
    assert "1. Семьи с детьми" in menu.typed_text and "2. Субсидии ЖКУ" in menu.typed_text
    assert "напишите номер темы" in menu.typed_text.lower()
    assert "Семьи с детьми" not in menu.text  # the buttons show them
    await reception.handle(msg("Здравствуйте"))
    assert "напишите «меню»" in store.outbox[-1][1].typed_text
    await reception.handle(msg(action=Action(ActionKind.CONSENT)))
    await reception.handle(msg("/start"))
    assert "2. Субсидии ЖКУ" in store.outbox[-1][1].typed_text


async def test_a_client_without_buttons_has_the_typed_text_stored_and_sent(world) -> None:
    reception, _, store, _ = world
    await reception.handle(dataclasses.replace(msg("позовите специалиста"),
                                               app=ClientApp(keyboard=False)))
    notice = store.outbox[-1][1]
    assert "Напишите «согласен» или «согласна»" in notice.text and "Нажмите" not in notice.text
    assert notice.typed_text == ""  # one text: the desk shows what the client read


def photo(caption: str) -> IncomingMessage:
    from handlers.model import Attachment, AttachmentKind

    return dataclasses.replace(msg(caption), attachments=(
        Attachment(AttachmentKind.PHOTO, "file-id"),))


async def test_a_file_asking_for_a_specialist_is_acknowledged_before_the_notice(world) -> None:
    reception, _, store, _ = world
    await reception.handle(photo("Передайте специалисту, пожалуйста"))
    ack, notice = (reply for _, reply in store.outbox)
    assert ack.text == "Файл получен — его посмотрит специалист." and not ack.buttons
    assert notice.buttons[0][0].action.kind is ActionKind.CONSENT


async def test_a_file_asking_for_erasure_is_acknowledged_before_the_confirmation(world) -> None:
    reception, _, store, _ = world
    await reception.handle(photo("Удалите мои данные"))
    ack, confirm = (reply for _, reply in store.outbox)
    assert ack.text == "Файл получен." and not ack.buttons
    assert confirm.buttons[0][0].action.kind is ActionKind.FORGET_CONFIRM


async def test_a_file_with_a_crisis_caption_gets_one_reply_that_says_it_is_kept(world) -> None:
    reception, _, store, _ = world
    await reception.handle(photo("мне очень плохо, не хочу жить"))
    [(_, reply)] = store.outbox
    assert "112" in reply.text
    assert reply.text.splitlines()[-2] == "Ваш файл сохранён, его посмотрит специалист."
    await reception.handle(msg("не хочу жить", user="u2"))
    assert "файл" not in last_reply(store)


@pytest.mark.parametrize("caption", ["Как оформить наследство на дачу после смерти мужа?",
                                     "Наследство на дачу оформить можно?"])
async def test_a_file_with_a_question_nobody_answers_counts_as_a_gap(world, caption) -> None:
    reception, _, store, _ = world
    await reception.handle(photo(caption))
    [(_, reply)] = store.outbox
    assert reply.text.startswith("Файл получен.")
    assert store.messages[0].decision is Decision.NO_MATCH


async def test_a_file_described_in_its_caption_is_no_gap(world) -> None:
    reception, _, store, _ = world
    await reception.handle(photo("Вот мои документы"))
    assert store.messages[0].decision == ""


@pytest.mark.parametrize("text", ["\u200b\u200b\u200b", " \u200c\u200d\u2060\ufeff ",
                                  "\u3164", "\u200e\u2800\u200f"])
async def test_message_of_invisible_characters_is_read_as_empty(text: str) -> None:
    replies = []
    for said in ("", text):
        reception, _, store, _ = build_world(Clock(SATURDAY))
        assert await reception.handle(msg(said))
        replies.append([reply.text for _, reply in store.outbox])
    assert replies[0] == replies[1]
    assert not any("не нашёл" in reply for reply in replies[1])


async def test_words_to_a_specialist_who_took_it_and_has_not_written_yet() -> None:
    clock = Clock()  # Monday 15:00 in Yekaterinburg: in hours
    reception, desk, store, notifier = build_world(clock)
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    assert await desk.take(1, 7)
    sent = len(store.outbox)
    for text in ("вы тут?", "когда ответите", "алло"):
        clock.advance(minutes=1)
        await reception.handle(msg(text))
    assert [r.text for _, r in store.outbox[sent:]] == [
        "Ваше сообщение получил специалист, который занимается вашим вопросом. "
        "Он ответит здесь."]  # once in ten minutes, as while nobody has taken it
    clock.advance(minutes=10)
    await reception.handle(msg("ну где же вы"))
    assert len(store.outbox) == sent + 2
    await reception.handle(msg("специалист!"))  # asked outright: answered every time
    assert last_reply(store) == ("Ваш вопрос уже у специалиста. Можете дописать подробности — "
                                 "он их увидит.")
    assert "добавлено к обращению" not in "".join(r.text for _, r in store.outbox)
    assert "передан специалистам" not in "".join(r.text for _, r in store.outbox[sent:])
    assert len([e for e in notifier.events if e.kind is EventKind.CLIENT_MESSAGE]) == 4


async def test_a_taken_question_out_of_hours_still_says_when() -> None:
    reception, desk, store, _ = build_world(Clock(SATURDAY))
    await reception.handle(msg(action=Action(ActionKind.CONSENT, "specialist")))
    assert await desk.take(1, 7)
    await reception.handle(msg("вы тут?"))
    assert last_reply(store).splitlines() == [
        "Ваше сообщение получил специалист, который занимается вашим вопросом. "
        "Он ответит здесь.",
        "Сейчас нерабочее время. Специалист ответит в рабочее время: в понедельник, 30 ноября, "
        "после 8:30."]
