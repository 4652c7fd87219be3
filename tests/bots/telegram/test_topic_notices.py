"""What the specialists' topic says of a conversation: its title after a transfer, who took,
released or answered it, and why a /transfer was refused."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from priemnaya.runtime import Runtime
from storage.models import Conversation
from storage.users import SqlStaffAccounts
from tests.bots.telegram.fake_bot_api import Failure
from tests.bots.telegram.harness import Harness, wait_for
from tests.bots.telegram.test_reliability import open_topic, topic_posts

Service = tuple[Harness, Runtime]


def posted(h: Harness, phrase: str) -> list[str]:
    return [p["text"] for p in topic_posts(h) if phrase in p["text"]]


async def test_a_transfer_renames_the_topic_after_the_queue(service: Service) -> None:
    h, _ = service
    topic = await open_topic(h)
    assert "Срочные обращения" not in h.api.topics[topic]
    await h.post(h.staff("/transfer urgent", topic=topic))
    await wait_for(lambda: posted(h, "«Срочные обращения»"))
    await wait_for(lambda: "Срочные обращения" in h.api.topics[topic])
    assert h.api.topics[topic].endswith("№1")


async def test_a_bot_that_may_not_rename_topics_warns_once(
        service: Service, caplog: pytest.LogCaptureFixture) -> None:
    h, _ = service
    topic = await open_topic(h)
    h.api.fail(Failure("editForumTopic", 400, "Bad Request: not enough rights to manage topics",
                       times=2))
    await h.post(h.staff("/transfer urgent", topic=topic))
    await wait_for(lambda: posted(h, "«Срочные обращения»"))
    await h.post(h.staff("/take", topic=topic))
    await h.post(h.staff("/transfer general", topic=topic))
    await wait_for(lambda: posted(h, "«Общие вопросы»"))
    assert len(h.api.attempts("editForumTopic")) == 2
    warned = [r for r in caplog.records if "can_manage_topics" in r.getMessage()]
    assert [r.levelname for r in warned] == ["WARNING"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def a_desk_account(rt: Runtime, login: str, name: str) -> int:
    return await SqlStaffAccounts(rt.sessions).create(login, name, "specialist", "", rt.clock())


async def conversation(rt: Runtime) -> int:
    async with rt.sessions() as s:
        cid = await s.scalar(select(Conversation.id))
    assert cid is not None
    return cid


async def test_notices_name_the_specialist_as_the_desk_shows_them(service: Service) -> None:
    h, rt = service
    topic = await open_topic(h)
    cid = await conversation(rt)
    await h.post(h.staff("/take", topic=topic))  # from Telegram: the name Telegram gives
    await wait_for(lambda: posted(h, "Обращение взято в работу: специалист Мария Иванова."))
    assert await rt.desk.release(cid)
    anna = await a_desk_account(rt, "anna", "Анна Смирнова")
    assert await rt.desk.take(cid, anna)
    await rt.desk.reply(cid, anna, "Справку можно получить в МФЦ", origin="desk")
    await rt.desk.note(cid, anna, "Проверить льготу", origin="desk")
    await wait_for(lambda: posted(h, "Обращение взято в работу: специалист Анна Смирнова."))
    await wait_for(lambda: posted(h, "Специалист Анна Смирнова из веб-кабинета: Справку"))
    await wait_for(lambda: posted(h, "Заметка из веб-кабинета — Анна Смирнова"))


async def test_a_release_from_the_web_desk_is_told_in_the_topic(service: Service) -> None:
    h, rt = service
    topic = await open_topic(h)
    cid = await conversation(rt)
    anna = await a_desk_account(rt, "anna", "Анна Смирнова")
    await h.post(h.staff("/take", topic=topic))
    assert await rt.desk.release(cid, by=anna)
    [notice] = await wait_for(lambda: posted(h, "обращение возвращено"))
    # No verb of a gender: «вернул» was wrong for Анна.
    assert notice.startswith("Специалист Анна Смирнова — обращение возвращено в очередь "
                             "«Общие вопросы»")
    await h.post(h.staff("/take", topic=topic))  # released, so it can be taken again
    await wait_for(lambda: len(posted(h, "Обращение взято в работу")) == 2)


async def test_a_refused_transfer_says_the_one_reason_that_applies(service: Service) -> None:
    h, rt = service
    topic = await open_topic(h)
    await h.post(h.staff("/transfer lawyers", topic=topic))
    [unknown] = await wait_for(lambda: posted(h, "Не передано"))
    assert unknown.startswith("Не передано: такой очереди нет («lawyers»). Очереди: general "
                              "(«Общие вопросы»), ")
    assert "urgent («Срочные обращения»)" in unknown and unknown.endswith(").")
    await h.post(h.staff("/transfer general", topic=topic))
    await wait_for(lambda: posted(h, "Не передано: обращение уже в очереди «Общие вопросы»."))
    await rt.desk.close(await conversation(rt), origin="desk")
    await h.post(h.staff("/transfer urgent", topic=topic))
    await wait_for(lambda: posted(h, "Не передано: обращение уже закрыто."))
    assert len(posted(h, "Не передано")) == 3


async def test_a_rename_in_an_outage_is_done_when_telegram_is_back(
        service: Service, caplog: pytest.LogCaptureFixture) -> None:
    h, _ = service
    topic = await open_topic(h)
    failure = Failure("editForumTopic", 502, "", page="<html>502 Bad Gateway</html>",
                      times=10**6)
    h.api.fail(failure)
    await h.post(h.staff("/transfer urgent", topic=topic))
    await wait_for(lambda: posted(h, "«Срочные обращения»"))
    await wait_for(lambda: h.api.attempts("editForumTopic"))
    assert "Срочные обращения" not in h.api.topics[topic]
    failure.times = 0
    await wait_for(lambda: "Срочные обращения" in h.api.topics[topic], 10)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_transfer_names_who_made_it(service: Service) -> None:
    h, _ = service
    topic = await open_topic(h)
    await h.post(h.staff("/transfer urgent", topic=topic))
    await wait_for(lambda: posted(h, "Специалист Мария Иванова — обращение передано в очередь "
                                     "«Срочные обращения»."))


async def test_a_transfer_without_a_queue_lists_the_queues(service: Service) -> None:
    h, _ = service
    topic = await open_topic(h)
    await h.post(h.staff("/transfer", topic=topic))
    [usage] = await wait_for(lambda: posted(h, "Укажите очередь"))
    assert "urgent («Срочные обращения»)" in usage and "general («Общие вопросы»)" in usage
