"""Searching the interaction log and reading transcripts straight from the database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from analytics import logbook
from analytics.logbook import LogQuery, search, searchable, transcript
from analytics.records import Filters
from storage.models import Client, Conversation, Message
from tests.analytics.conftest import NOVEMBER
from tests.analytics.generator import t


async def test_pages_are_newest_first_and_cover_everything(
    sessions, logged, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logbook, "PAGE_SIZE", 4)
    first = await search(sessions, LogQuery(NOVEMBER, Filters()))
    second = await search(sessions, LogQuery(NOVEMBER, Filters(), page=2))
    beyond = await search(sessions, LogQuery(NOVEMBER, Filters(), page=99))
    assert (first.total, first.pages) == (6, 2)
    assert [r.id for r in first.rows] == [logged[k] for k in ("c6", "c5", "c3", "c4")]
    assert [r.id for r in second.rows] == [logged["c2"], logged["c1"]]
    assert beyond.page == 2


async def test_filters_state_and_text(sessions, logged) -> None:
    async def ids(**kw: object) -> set[int]:
        page = await search(sessions, LogQuery(NOVEMBER, Filters(), **kw))  # type: ignore[arg-type]
        return {r.id for r in page.rows}

    assert await ids(state="closed") == {logged["c1"], logged["c3"], logged["c5"]}
    c3 = await transcript(sessions, logged["c3"])
    assert c3 is not None
    assert c3.specialist == "Иванова"
    # Case is ignored for Cyrillic on SQLite too (storage/engine.py registers a Unicode lower).
    assert await ids(text="ОТОПЛЕНИЕ") == {logged["c5"]}
    assert await ids(text="отопление") == {logged["c5"]}
    assert await ids(text="Отопление") == {logged["c5"]}
    assert await ids(text="100%_") == set()  # LIKE wildcards are escaped
    assert await ids(text="заметка") == set()  # internal notes are not searched


async def test_snippets_and_transcripts_are_masked(sessions, logged) -> None:
    page = await search(sessions, LogQuery(NOVEMBER, Filters(channel="vk")))
    assert page.rows[0].snippet.endswith("Мой телефон [телефон]")
    assert not searchable("звоните 89123456789")
    assert searchable("справка")


async def test_search_reads_the_log_as_it_is_shown_masked(sessions, logged) -> None:
    async def ids(text: str) -> set[int]:
        return {r.id for r in (await search(sessions, LogQuery(NOVEMBER, Filters(),
                                                               text=text))).rows}

    # A piece of the masked phone number would tell the number digit by digit.
    for piece in ("345-67", "912", "+7 912"):
        assert searchable(piece)
        assert await ids(piece) == set()
    vk = {r.id for r in (await search(sessions, LogQuery(NOVEMBER, Filters(channel="vk")))).rows}
    assert await ids("мой телефон") == vk
    assert await ids("[телефон]") == set()  # the mark is drawn when shown, not stored
    assert await transcript(sessions, 999_999) is None


@pytest.mark.parametrize(("text", "keys"), [
    ("пособия", {"c1", "c2"}),  # the log says "пособие"
    ("пособием", {"c1", "c2"}),
    ("ребёнок", {"c2"}),  # the log says "ребенка"
    ("РЕБЁНКУ", {"c2"}),
    ("выдает", {"c3"}),  # the log says "выдаёт"
    ("справка", {"c3", "c4"}),  # "справку" and "Справка"
    ("пособие ребенок", {"c2"}),  # every word, in one message
    ("пособие отопление", set()),
    ("Справк", {"c3", "c4"}),  # the start of a word still finds it
    ("оформляют", set()),  # only the bot said it: what people wrote is searched
    ("Оцените", set()),
])
async def test_search_folds_yo_and_word_forms(sessions, logged, text: str,
                                              keys: set[str]) -> None:
    page = await search(sessions, LogQuery(NOVEMBER, Filters(), text=text))
    assert {r.id for r in page.rows} == {logged[k] for k in keys}


async def test_the_first_message_is_the_first_typed_question(sessions) -> None:
    at = t("11-10 10:00")
    async with sessions.begin() as s:
        client = Client(channel="web", user_id="user-press", display_name="",
                        created_at=at, last_seen_at=at)
        s.add(client)
        await s.flush()
        convs = [Conversation(client_id=client.id, channel="web", category="", queue="general",
                              state="bot", opened_at=at + timedelta(minutes=n),
                              last_activity_at=at) for n in range(2)]
        s.add_all(convs)
        await s.flush()
        said = ((convs[0], "Согласен(на)", "consent:specialist"),
                (convs[0], "Как получить путёвку?", ""), (convs[1], "", "start"),
                (convs[1], "Согласен(на)", "consent:specialist"))
        s.add_all(Message(conversation_id=c.id, client_id=client.id, direction="in",
                          author="client", channel="web", text=text, action=action,
                          created_at=at) for c, text, action in said)
    page = await search(sessions, LogQuery(NOVEMBER, Filters()))
    assert [r.snippet for r in page.rows] == ["Согласен(на)", "Как получить путёвку?"]


async def test_the_clients_own_first_name_alone_is_masked_in_the_transcript(
        sessions, logged) -> None:
    """A specialist writes the client's first name alone, in any form; the same name in
    another client's conversation and ordinary words stay as written."""
    async with sessions.begin() as s:
        conv = await s.get_one(Conversation, logged["c4"])
        client = await s.get_one(Client, conv.client_id)
        client.display_name = "Валентина Петровна"
        for text in ("Здравствуйте, Валентина! Справку выдаёт МФЦ.",
                     "Валентину ждём в пятницу; Галина Сергеевна, передайте ей",
                     "Надежда есть: вера в лучшее"):
            s.add(Message(conversation_id=conv.id, client_id=client.id, direction="out",
                          author="specialist", channel=conv.channel, text=text,
                          text_length=len(text), created_at=t("11-05 09:05")))
    found = await transcript(sessions, logged["c4"])
    assert found is not None
    assert [line.text for line in found.lines][-3:] == [
        "Здравствуйте, [ФИО]! Справку выдаёт МФЦ.",
        "[ФИО] ждём в пятницу; [ФИО], передайте ей",
        "Надежда есть: вера в лучшее"]


async def test_a_specialists_work_is_found_after_it_left_them(sessions, logged) -> None:
    """Петров replied in c4; it went back to the queue (a release, a transfer, his account
    disabled) and Иванова took it without replying: it is still his in the log."""
    async with sessions.begin() as s:
        c4 = await s.get_one(Conversation, logged["c4"])
        ivanova = (await s.get_one(Conversation, logged["c3"])).assigned_to
        petrov, c4.assigned_to = c4.assigned_to, ivanova
    page = await search(sessions, LogQuery(NOVEMBER, Filters(), specialist_id=petrov))
    assert [(r.id, r.specialist, r.holder) for r in page.rows] == [
        (logged["c4"], "Петров", "Иванова")]
    page = await search(sessions, LogQuery(NOVEMBER, Filters(), specialist_id=ivanova))
    assert {r.id for r in page.rows} == {logged["c3"], logged["c4"], logged["c5"]}
    shown = await transcript(sessions, logged["c4"])
    assert shown is not None and (shown.specialist, shown.holder) == ("Петров", "Иванова")
