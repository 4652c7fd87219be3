"""Clients' names from users.get: asked once, never holding up or losing a message."""

from __future__ import annotations

from typing import Any

import pytest

from bots.vk.api import build_api, close_api
from bots.vk.names import ClientNames
from storage.models import Client
from tests.bots.vk.conftest import SECRET, World, started, until, vk_config
from tests.bots.vk.fake_vk import FakeVk, message_new

USER = 100000001
QUESTION = "Как оформить единое пособие?"


async def write(w: World, mode: str, body: dict[str, Any]) -> None:
    if mode == "longpoll":
        w.fake.push(body)
    else:
        assert await w.post({**body, "secret": SECRET}) == (200, "ok")


async def name_of(w: World) -> str:
    [client] = await w.rows(Client)
    return client.display_name


@pytest.mark.parametrize("mode", ["callback", "longpoll"])
async def test_the_name_is_asked_once_and_stored(database_url: str, fake: FakeVk,
                                                 mode: str) -> None:
    fake.names[USER] = ("Анна", "Петрова")
    async with started(database_url, fake, mode) as w:
        for number in (1, 2, 3):
            await write(w, mode, message_new(USER, QUESTION, number))
            await until(lambda n=number: len(fake.delivered) == n)
        await w.settled(3)
        assert await name_of(w) == "Анна Петрова"
        [asked] = fake.method_calls("users.get")
        assert asked.params["user_ids"] == str(USER)


@pytest.mark.parametrize("mode", ["callback", "longpoll"])
async def test_a_failed_lookup_loses_nothing_and_is_tried_again(database_url: str,
                                                                fake: FakeVk, mode: str) -> None:
    fake.names[USER] = ("Анна", "Петрова")
    fake.failing.add("users.get")
    async with started(database_url, fake, mode) as w:
        await write(w, mode, message_new(USER, QUESTION, 1))
        await until(lambda: fake.delivered)
        await w.settled(1)
        assert fake.texts(USER)[0].startswith("Единое пособие оформляют")
        assert [m.text for m in await w.client_messages()] == [QUESTION]
        assert await name_of(w) == ""
        fake.failing.clear()
        await write(w, mode, message_new(USER, QUESTION, 2))
        await until(lambda: len(fake.delivered) == 2)
        await w.settled(2)
        assert await name_of(w) == "Анна Петрова"
        assert len(fake.method_calls("users.get")) == 2


async def test_the_least_recently_seen_names_go_first(fake: FakeVk) -> None:
    fake.names.update({1: ("Анна", ""), 2: ("Борис", "Ким"), 3: ("Вера", "")})
    api = build_api(vk_config(fake, "longpoll"))
    try:
        names = ClientNames(api, size=2)
        assert [await names.of(u) for u in (1, 2, 1, 3, 1, 2)] == [
            "Анна", "Борис Ким", "Анна", "Вера", "Анна", "Борис Ким"]
    finally:
        await close_api(api)
    # 2 was the least recently seen when 3 came, so it was asked again; 1 never was.
    assert [c.params["user_ids"] for c in fake.method_calls("users.get")] == ["1", "2", "3", "2"]


async def test_a_deleted_page_has_no_name(fake: FakeVk) -> None:
    fake.deleted.add(4)
    api = build_api(vk_config(fake, "longpoll"))
    try:
        assert await ClientNames(api).of(4) == ""  # not VK's «DELETED»
    finally:
        await close_api(api)
