"""The VK adapter wired into the real runtime and web app, against a fake VK API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bots.vk.config import VkConfig
from bots.vk.plugin import VkPlugin, build_vk
from handlers.event_ports import ConversationEvent
from priemnaya.runtime import Runtime, build_runtime, utc_now
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from storage.models import Conversation, InboundEvent, Message
from tests.bots.vk.fake_vk import GROUP_ID, FakeVk, running_fake_vk
from tests.fakes import FakeFaq

SECRET = "example_callback_secret"
CONFIRMATION = "a1b2c3d4"


class RecordingNotifier:
    def __init__(self) -> None:
        self.events: list[ConversationEvent] = []

    async def publish(self, event: ConversationEvent) -> None:
        self.events.append(event)


@dataclass
class World:
    fake: FakeVk
    rt: Runtime
    plugin: VkPlugin
    client: TestClient
    notified: RecordingNotifier

    async def post(self, body: object, raw: bytes | None = None) -> tuple[int, str]:
        data = raw if raw is not None else _json(body)
        r = await self.client.post("/vk/callback", data=data,
                                   headers={"Content-Type": "application/json"})
        return r.status, await r.text()

    async def rows(self, model: Any, *where: Any) -> list[Any]:
        async with self.rt.sessions() as s:
            return list((await s.scalars(select(model).where(*where)
                                         .order_by(model.id))).all())

    async def client_messages(self) -> list[Message]:
        return await self.rows(Message, Message.author == "client")

    async def conversation(self) -> Conversation:
        rows = await self.rows(Conversation)
        assert rows, "no conversation stored"
        return rows[-1]

    async def settled(self, kept: int = 0) -> None:
        """At least `kept` events stored, every one handled, and the outbox empty."""
        await until(lambda: self._all_handled(kept))

    async def _all_handled(self, kept: int) -> bool:
        events = await self.rows(InboundEvent)
        if len(events) < kept:
            return False
        pending = await self.rows(Message, Message.delivery == "pending")
        return all(e.status != "received" for e in events) and not pending


def _json(body: object) -> bytes:
    import json

    return json.dumps(body, ensure_ascii=False).encode()


async def until(check: Callable[[], Any]) -> None:
    """Waits for a condition of the running service (background tasks, outbox, polling)."""
    for _ in range(500):
        if await _truthy(check()):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in 10 s")


async def _truthy(result: Any) -> bool:
    return bool(await result if asyncio.iscoroutine(result) else result)


def vk_config(fake: FakeVk, mode: str, **kw: Any) -> VkConfig:
    base = VkConfig(token="test-token", group_id=GROUP_ID, mode="longpoll",
                    confirmation=CONFIRMATION, secret=SECRET, api_url=f"{fake.url}/method/",
                    wait_s=1, request_timeout_s=5)
    return replace(base, mode=mode, **kw)  # type: ignore[arg-type]


@asynccontextmanager
async def started(database_url: str, fake: FakeVk, mode: str,
                  clock: Callable[[], datetime] = utc_now, **kw: Any) -> AsyncIterator[World]:
    settings = Settings(database={"url": database_url}, outbox={"poll_interval_s": 0.05})
    rt = build_runtime(settings, FakeFaq(), clock=clock)
    notified = RecordingNotifier()
    rt.notifier.add(notified)
    plugin = build_vk(vk_config(fake, mode, **kw), rt.context)
    rt.add_channel(plugin)
    async with TestClient(TestServer(build_app(rt))) as client:
        if mode == "longpoll":  # VK delivers only what happens after the first poll
            await until(lambda: fake.method_calls("a_check"))
        yield World(fake, rt, plugin, client, notified)


@pytest.fixture
async def fake() -> AsyncIterator[FakeVk]:
    async with running_fake_vk() as f:
        yield f


@pytest.fixture
async def callback(database_url: str, fake: FakeVk) -> AsyncIterator[World]:
    async with started(database_url, fake, "callback") as w:
        yield w


@pytest.fixture
async def longpoll(database_url: str, fake: FakeVk) -> AsyncIterator[World]:
    async with started(database_url, fake, "longpoll") as w:
        yield w
