"""Catch-up on Long Poll start: messages sent while the service was down, from VK's history."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bots.vk.config import CatchUpConfig
from bots.vk.events import HAND_OVER, STORE_ONLY
from handlers.model import Channel, IncomingMessage
from storage.models import Client, Conversation, InboundEvent, Message
from tests.bots.vk.conftest import World, started, until
from tests.bots.vk.fake_vk import GROUP_ID, FakeVk, as_event, client_message, message_new

USER, OTHER = 100000001, 100000002
QUESTION, SUBSIDY = "Как оформить единое пособие?", "Как получить субсидию на ЖКУ?"
ALLOWANCE_ANSWER, SUBSIDY_ANSWER = "Единое", "Субсидию"  # the first words of the FAQ answers


def sent_ago(peer: int, text: str, number: int, minutes: float = 10) -> dict[str, Any]:
    return client_message(peer, text, number, date=int(time.time() - minutes * 60))


def first_words(fake: FakeVk, peer: int) -> list[str]:
    return [text.split()[0] for text in fake.texts(peer)]


async def stored(w: World, peer: int | None = None) -> list[tuple[str, str]]:
    """Text and VK message id of the client messages in the database, in order."""
    query = (select(Message.text, Message.channel_message_id)
             .join(Client, Client.id == Message.client_id)
             .where(Message.author == "client").order_by(Message.id))
    if peer is not None:
        query = query.where(Client.user_id == str(peer))
    async with w.rt.sessions() as s:
        return [(text, number) for text, number in (await s.execute(query)).all()]


async def test_messages_sent_while_down_are_stored_and_answered_once(
        database_url: str, fake: FakeVk) -> None:
    fake.wrote(sent_ago(USER, QUESTION, 1, minutes=30), sent_ago(USER, SUBSIDY, 2, minutes=29),
               sent_ago(OTHER, QUESTION, 3, minutes=5))
    async with started(database_url, fake, "longpoll") as w:
        await w.settled(kept=3)
        assert await stored(w, USER) == [(QUESTION, "1"), (SUBSIDY, "2")]
        assert await stored(w, OTHER) == [(QUESTION, "3")]
    assert first_words(fake, USER) == [ALLOWANCE_ANSWER, SUBSIDY_ANSWER]
    assert first_words(fake, OTHER) == [ALLOWANCE_ANSWER]

    async with started(database_url, fake, "longpoll") as w:  # and restarted once more
        await w.settled(kept=3)
        assert len(await w.client_messages()) == 3
    assert len(fake.delivered) == 3
    assert len(fake.method_calls("messages.getConversations")) == 2
    assert not fake.method_calls("messages.markAsRead")


async def test_message_both_in_history_and_live_is_handled_once(
        database_url: str, fake: FakeVk) -> None:
    msg = sent_ago(USER, QUESTION, 7)
    fake.wrote(msg)
    async with started(database_url, fake, "longpoll") as w:
        await w.settled(kept=1)
        fake.push(as_event(msg))  # the same message, delivered live after all
        await w.settled(kept=2)
        kept = await w.rows(InboundEvent)
        assert [(k.dedupe_key, k.status) for k in kept] == [
            (f"vk:message_new:{USER}:7", "processed"), (f"vk:ev-new-{USER}-7", "processed")]
        assert await stored(w) == [(QUESTION, "7")]
    assert len(fake.delivered) == 1


async def test_lost_long_poll_history_is_caught_up(database_url: str, fake: FakeVk) -> None:
    first = sent_ago(USER, QUESTION, 7)
    async with started(database_url, fake, "longpoll") as w:
        fake.wrote(first)
        fake.push(as_event(first))
        await w.settled(kept=1)
        # Written while the long poll server lost its history: failed=3, a new key and ts.
        fake.wrote(sent_ago(USER, SUBSIDY, 20))
        fake.lp_replies.append({"failed": 3})
        await until(lambda: len(fake.delivered) == 2)
        await w.settled(kept=2)
        assert await stored(w) == [(QUESTION, "7"), (SUBSIDY, "20")]
    assert len(fake.method_calls("messages.getConversations")) == 2
    assert first_words(fake, USER) == [ALLOWANCE_ANSWER, SUBSIDY_ANSWER]


async def test_messages_stored_by_an_earlier_version_are_not_answered_again(
        database_url: str, fake: FakeVk) -> None:
    fake.wrote(sent_ago(USER, QUESTION, 7, minutes=20), sent_ago(USER, SUBSIDY, 8))
    async with started(database_url, fake, "longpoll", catch_up=CatchUpConfig(
            conversations=0)) as w:
        # Stored under the event's key, as before messages had a key of their own.
        earlier = IncomingMessage(Channel.VK, str(USER), "ev-new-100000001-7", QUESTION,
                                  channel_message_id="7")
        assert await w.rt.context.store.record_incoming(earlier, w.rt.clock())
    async with started(database_url, fake, "longpoll") as w:
        await w.settled(kept=1)
        assert await stored(w) == [(QUESTION, "7"), (SUBSIDY, "8")]
    assert first_words(fake, USER) == [SUBSIDY_ANSWER]


@pytest.mark.parametrize("method", ["messages.getConversations", "messages.getHistory"])
async def test_failing_catch_up_leaves_live_polling_running(
        database_url: str, fake: FakeVk, method: str) -> None:
    fake.failing.add(method)
    fake.wrote(sent_ago(OTHER, SUBSIDY, 1))
    async with started(database_url, fake, "longpoll") as w:
        fake.push(message_new(USER, QUESTION, 2))
        await until(lambda: fake.delivered)
        await w.settled(kept=1)
        assert await stored(w) == [(QUESTION, "2")]
    assert fake.method_calls(method)
    assert fake.texts(OTHER) == []


async def test_old_messages_are_stored_but_not_answered(
        database_url: str, fake: FakeVk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bots.vk.catchup")
    fake.wrote(sent_ago(USER, SUBSIDY, 1, minutes=4 * 24 * 60),
               sent_ago(USER, QUESTION, 2, minutes=10))
    async with started(database_url, fake, "longpoll") as w:
        await w.settled(kept=2)
        assert await stored(w) == [(SUBSIDY, "1"), (QUESTION, "2")]
        kept = await w.rows(InboundEvent)
        assert [json.loads(k.raw).get(STORE_ONLY) for k in kept] == [True, None]
        # The verdict is in the kept body, so a replay after a crash stays quiet as well.
        body = {"type": "message_new", "group_id": GROUP_ID, STORE_ONLY: True,
                "object": {"message": sent_ago(OTHER, QUESTION, 3, minutes=5 * 24 * 60)}}
        await w.plugin.replay(json.dumps(body))
        await w.settled()
        assert await stored(w, OTHER) == [(QUESTION, "3")]
    assert first_words(fake, USER) == [ALLOWANCE_ANSWER]
    assert fake.texts(OTHER) == []
    assert ("VK catch-up: 1 unread conversations, 1 missed messages handled as new, 0 too old "
            "and handed to specialists, 1 too old and only stored, 0 known already; "
            "0 conversations failed") in caplog.messages


async def test_a_clients_last_message_too_old_to_answer_goes_to_a_specialist(
        database_url: str, fake: FakeVk, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bots.vk.catchup")
    fake.wrote(sent_ago(USER, QUESTION, 1, minutes=5 * 24 * 60),
               sent_ago(USER, SUBSIDY, 2, minutes=4 * 24 * 60))
    async with started(database_url, fake, "longpoll") as w:
        await w.settled(kept=2)
        assert await stored(w) == [(QUESTION, "1"), (SUBSIDY, "2")]
        async with w.rt.sessions() as s:
            actions = list(await s.scalars(select(Message.action).where(
                Message.author == "client").order_by(Message.id)))
        kept = await w.rows(InboundEvent)
    assert actions == ["", "specialist"]  # the latest one, as if they had asked for a person
    assert [(json.loads(k.raw).get(STORE_ONLY), json.loads(k.raw).get(HAND_OVER))
            for k in kept] == [(True, None), (None, True)]
    # No FAQ answer days late: the client is asked to agree to a specialist seeing it.
    [notice] = fake.delivered
    assert notice["message"].startswith("Чтобы специалист мог ответить вам лично")
    assert "consent" in notice["keyboard"]
    assert ("VK catch-up: 1 unread conversations, 0 missed messages handled as new, 1 too old "
            "and handed to specialists, 1 too old and only stored, 0 known already; "
            "0 conversations failed") in caplog.messages


async def test_answer_age_is_configurable(database_url: str, fake: FakeVk) -> None:
    fake.wrote(sent_ago(USER, QUESTION, 1, minutes=90))
    async with started(database_url, fake, "longpoll",
                       catch_up=CatchUpConfig(answer_within=timedelta(hours=1))) as w:
        await w.settled(kept=1)
        assert await stored(w) == [(QUESTION, "1")]
    assert not any(t.startswith(ALLOWANCE_ANSWER) for t in fake.texts(USER))  # no FAQ answer
    assert fake.texts(USER)[0].startswith("Чтобы специалист")


async def test_unread_conversations_are_read_page_by_page_up_to_the_limit(
        database_url: str, fake: FakeVk) -> None:
    fake.page_limit = 2  # VK's is 200
    peers = [100000011 + n for n in range(5)]
    fake.wrote(*(sent_ago(peer, QUESTION, n + 1) for n, peer in enumerate(peers)))
    fake.wrote(sent_ago(2000000001, "Всем добрый день", 10))  # no history of chats for us
    async with started(database_url, fake, "longpoll",
                       catch_up=CatchUpConfig(conversations=4)) as w:
        await w.settled(kept=3)
        assert len(await w.client_messages()) == 3
    pages = fake.method_calls("messages.getConversations")
    assert [(p.params["offset"], p.params["count"]) for p in pages] == [("0", "4"), ("2", "2")]
    # Newest first: the chat and the three latest users fill the four conversations.
    histories = fake.method_calls("messages.getHistory")
    assert [h.params["peer_id"] for h in histories] == [str(p) for p in peers[:1:-1]]
    assert {d["peer_id"] for d in fake.delivered} == {str(p) for p in peers[2:]}


async def test_at_most_the_newest_messages_of_a_conversation(
        database_url: str, fake: FakeVk) -> None:
    fake.wrote(*(sent_ago(USER, f"Вопрос номер {n}", n, minutes=20 - n) for n in range(1, 6)))
    async with started(database_url, fake, "longpoll",
                       catch_up=CatchUpConfig(messages=3)) as w:
        await w.settled(kept=3)
        assert [text for text, _ in await stored(w)] == [
            "Вопрос номер 3", "Вопрос номер 4", "Вопрос номер 5"]
    [history] = fake.method_calls("messages.getHistory")
    assert history.params["count"] == "3"


async def test_catch_up_can_be_switched_off(database_url: str, fake: FakeVk) -> None:
    fake.wrote(sent_ago(USER, QUESTION, 1))
    async with started(database_url, fake, "longpoll",
                       catch_up=CatchUpConfig(conversations=0)) as w:
        assert await stored(w) == []
    assert not fake.method_calls("messages.getConversations")


async def test_a_caught_up_message_is_dated_when_received(
        database_url: str, fake: FakeVk) -> None:
    """VK's date decides only whether the bot still answers it; the log, metrics and retention
    count from when the service got it (a platform's date can be anything)."""
    fake.wrote(sent_ago(USER, QUESTION, 1, minutes=120))
    async with started(database_url, fake, "longpoll") as w:
        await w.settled(kept=1)
        async with w.rt.sessions() as s:
            written = await s.scalar(select(Message.created_at).where(Message.author == "client"))
            opened = await s.scalar(select(Conversation.opened_at))
    assert written is not None and opened is not None
    assert abs(datetime.now(UTC) - written) < timedelta(minutes=1)
    assert opened == written
