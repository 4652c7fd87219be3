"""The whole service as `priemnaya run` builds it, from a settings file, against a fake VK."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web
from sqlalchemy import select

from priemnaya.channels import build_channels
from priemnaya.runtime import Runtime, build_runtime
from priemnaya.settings import load_settings
from priemnaya.webapp import build_app
from storage.models import Conversation, Message
from tests.bots.vk.conftest import CONFIRMATION, SECRET, until
from tests.bots.vk.fake_vk import GROUP_ID, FakeVk, message_event, message_new, message_reply
from tests.fakes import FakeFaq

USER = 100000001
QUESTION = "Как оформить единое пособие?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_settings(path: Path, database_url: str, fake: FakeVk, mode: str, port: int) -> Path:
    path.write_text(yaml.safe_dump({
        "database": {"url": database_url},
        "web": {"host": "127.0.0.1", "port": port},
        "outbox": {"poll_interval_s": 0.05},
        "vk": {"enabled": True, "group_id": GROUP_ID, "mode": mode,
               "callback_path": "/vk/events", "confirmation": CONFIRMATION,
               "api_url": f"{fake.url}/method/"},
    }, allow_unicode=True), encoding="utf-8")
    return path


@asynccontextmanager
async def service(settings_file: Path) -> AsyncIterator[Runtime]:
    """What priemnaya.serve does, with the test FAQ until the real one is merged."""
    settings = load_settings(settings_file)
    rt = build_runtime(settings, FakeFaq())
    for plugin in build_channels(settings, rt.context):
        rt.add_channel(plugin)
    runner = web.AppRunner(build_app(rt), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.web.host, settings.web.port).start()
    try:
        yield rt
    finally:
        await runner.cleanup()


class Client:
    """A VK user, as VK delivers their actions to the service in either mode."""

    def __init__(self, fake: FakeVk, mode: str, url: str, http: aiohttp.ClientSession) -> None:
        self.fake, self.mode, self.url, self.http = fake, mode, url, http

    async def deliver(self, body: dict[str, object]) -> None:
        if self.mode == "longpoll":
            self.fake.push(body)
            return
        async with self.http.post(self.url, json={**body, "secret": SECRET}) as r:
            assert (r.status, await r.text()) == (200, "ok")


@pytest.mark.parametrize("mode", ["longpoll", "callback"])
async def test_service_answers_escalates_and_relays_without_duplicates(
        database_url: str, fake: FakeVk, tmp_path: Path, mode: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIEMNAYA_VK__TOKEN", "test-token")
    monkeypatch.setenv("PRIEMNAYA_VK__SECRET", SECRET)
    port = free_port()
    settings_file = write_settings(tmp_path / "settings.yaml", database_url, fake, mode, port)
    async with service(settings_file) as rt, aiohttp.ClientSession() as http:
        vk = Client(fake, mode, f"http://127.0.0.1:{port}/vk/events", http)
        if mode == "callback":
            confirm = {"type": "confirmation", "group_id": GROUP_ID, "secret": SECRET}
            async with http.post(vk.url, json=confirm) as r:
                assert await r.text() == CONFIRMATION
        else:
            await until(lambda: fake.method_calls("a_check"))

        question = message_new(USER, QUESTION, 1)
        await vk.deliver(question)
        await until(lambda: len(fake.delivered) == 1)
        assert fake.delivered[0]["message"].startswith("Единое пособие")
        await vk.deliver(question)  # VK delivers it again

        await vk.deliver(message_event(USER, {"a": "consent:specialist"}, 2))
        await until(lambda: len(fake.delivered) == 2)
        assert "специалист" in fake.delivered[1]["message"]

        await vk.deliver(message_reply(USER, "Здравствуйте, это Мария.", 3, admin=100000009))
        await until(lambda: state_of(rt, "with_specialist"))
        await vk.deliver(message_new(USER, "А документы какие нужны?", 4))
        await until(lambda: stored(rt, "А документы какие нужны?"))

        conv_id = (await conversation(rt)).id
        assert await rt.desk.reply(conv_id, None, "Паспорт и СНИЛС.", origin="desk")
        await until(lambda: len(fake.delivered) == 3)
        assert fake.delivered[2]["message"] == "Паспорт и СНИЛС."

    sends = fake.method_calls("messages.send")
    assert len(sends) == 3  # answer, hand-over notice, relayed reply: the bot kept silent
    assert not [k for k, n in Counter((c.params["peer_id"], c.params["random_id"])
                                      for c in sends).items() if n > 1]
    assert len(fake.method_calls("messages.sendMessageEventAnswer")) == 1


async def conversation(rt: Runtime) -> Conversation:
    async with rt.sessions() as s:
        conv = await s.scalar(select(Conversation).order_by(Conversation.id.desc()))
    assert conv is not None
    return conv


async def state_of(rt: Runtime, state: str) -> bool:
    return (await conversation(rt)).state == state


async def stored(rt: Runtime, text: str) -> bool:
    async with rt.sessions() as s:
        found = await s.scalar(select(Message.id).where(Message.author == "client",
                                                        Message.text == text))
    return found is not None


@pytest.mark.parametrize(("vk", "fragment"), [
    ({"enabled": True, "group_id": 1}, "PRIEMNAYA_VK__TOKEN"),
    ({"enabled": True, "token": "t"}, "vk.group_id"),
    ({"enabled": True, "token": "t", "group_id": 1, "mode": "callback"}, "vk.confirmation"),
])
def test_incomplete_vk_settings_are_named(vk: dict[str, object], fragment: str) -> None:
    from priemnaya.settings import Settings, SettingsError

    settings = Settings(vk=vk)
    with pytest.raises(SettingsError, match=fragment):
        build_channels(settings, None)  # type: ignore[arg-type]
