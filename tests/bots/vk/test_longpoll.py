"""Bots Long Poll: our loop against the fake long-poll server, real vkbottle routing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage.models import InboundEvent
from tests.bots.vk.conftest import World, started, until
from tests.bots.vk.fake_vk import FakeVk, message_new, message_reply

USER = 100000001
QUESTION = "Как оформить единое пособие?"


async def test_update_is_kept_raw_and_answered(longpoll: World) -> None:
    longpoll.fake.push(message_new(USER, QUESTION, 1))
    await until(lambda: longpoll.fake.delivered)
    assert longpoll.fake.delivered[0]["message"].startswith("Единое пособие")
    await longpoll.settled()
    [kept] = await longpoll.rows(InboundEvent)
    assert (kept.kind, kept.status, kept.dedupe_key) == ("message_new", "processed",
                                                           f"vk:ev-new-{USER}-1")
    assert json.loads(kept.raw)["object"]["message"]["text"] == QUESTION
    [check, *_] = longpoll.fake.method_calls("a_check")
    assert check.params["act"] == "a_check" and check.params["key"] == "key1"


async def test_update_without_event_id_is_deduplicated_by_message(longpoll: World) -> None:
    update = message_new(USER, QUESTION, 7)
    del update["event_id"], update["v"]  # the shape of older API versions
    longpoll.fake.push(update, update, message_new(USER, "Спасибо", 8))
    await longpoll.settled(kept=2)
    kept = await longpoll.rows(InboundEvent)
    assert [k.dedupe_key for k in kept] == [f"vk:message_new:{USER}:7", f"vk:ev-new-{USER}-8"]
    assert [m.text for m in await longpoll.client_messages()] == [QUESTION, "Спасибо"]
    assert len(longpoll.fake.delivered) == 2


async def test_failed_answers_renew_key_and_ts(database_url: str, fake: FakeVk) -> None:
    fake.lp_replies = [{"failed": 1, "ts": "0"}, {"failed": 2}, {"failed": 3}, "garbage"]
    fake.key_number = 2  # the first key handed out is already outdated
    async with started(database_url, fake, "longpoll") as w:
        await until(lambda: len(fake.method_calls("a_check")) >= 5)
        fake.push(message_new(USER, QUESTION, 1))
        await until(lambda: fake.delivered)
        servers = fake.method_calls("groups.getLongPollServer")
        assert len(servers) >= 3  # at start, after failed=2, after failed=3
        assert all(s.params["group_id"] == "200000001" for s in servers)
        assert len(await w.client_messages()) == 1


async def test_manager_reply_over_long_poll(longpoll: World) -> None:
    longpoll.fake.push(message_new(USER, QUESTION, 1))
    await until(lambda: longpoll.fake.delivered)
    longpoll.fake.push(message_reply(USER, "Добрый день, это Мария.", 2, admin=100000009),
                       message_new(USER, "Спасибо, а когда приходить?", 3))
    await longpoll.settled(kept=3)
    assert (await longpoll.conversation()).state == "with_specialist"
    assert len(longpoll.fake.delivered) == 1  # the bot stays silent while a human talks


async def test_polling_writes_nothing_into_the_working_directory(
        database_url: str, fake: FakeVk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with started(database_url, fake, "longpoll"):
        monkeypatch.chdir(tmp_path)  # after start-up, which reads config/ relative to it
        fake.push(message_new(USER, QUESTION, 1))
        await until(lambda: fake.delivered)
    assert not (tmp_path / ".vkbottle").exists()
