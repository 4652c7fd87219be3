"""A Redis that accepts connections and never answers: clients, staff and a stop go on."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from storage.models import Conversation
from tests.bots.staff import add_staff, log_in
from tests.bots.test_web_chat import send, wait_for_messages
from tests.fakes import Clock, FakeFaq, FakeRedisServer

CRISIS = "не хочу жить, хочу покончить с собой"


async def test_a_crisis_message_is_answered_and_the_service_stops(database_url: str) -> None:
    async with FakeRedisServer("silent") as silent:
        settings = Settings(database={"url": database_url}, redis={"url": silent.url},
                            outbox={"poll_interval_s": 0.05})
        rt = build_runtime(settings, FakeFaq())
        async with asyncio.timeout(10):  # the stop included: nothing waits on Redis for long
            async with TestClient(TestServer(build_app(rt))) as c:
                await c.get("/")
                async with asyncio.timeout(1):
                    r = await send(c, {"id": "m1", "text": CRISIS})
                assert r.status == 200
                messages = await wait_for_messages(c, 2)
                assert messages[1]["author"] == "bot"
                assert await (await c.get("/healthz")).json() == {
                    "ok": True, "event_bus": "degraded", "database": "ok"}
        async with rt.sessions() as s:
            conv = await s.scalar(select(Conversation))
        assert conv is not None and (conv.state, conv.urgent) == ("waiting_specialist", True)
        await rt.engine.dispose()


async def test_staff_sign_in_while_redis_does_not_answer(database_url: str) -> None:
    async with FakeRedisServer("silent") as silent:
        clock = Clock()
        settings = Settings(database={"url": database_url}, redis={"url": silent.url})
        rt = build_runtime(settings, FakeFaq(), clock=clock)
        await add_staff(rt, clock)
        async with TestClient(TestServer(build_app(rt, start_background=False))) as c:
            # A guard against hanging only: the behaviour is counted below, not timed.
            async with asyncio.timeout(30):
                assert (await log_in(c, "anna", "wrong password")).status == 401
                tried = silent.accepted
                assert (await log_in(c, "anna")).status == 303
        # One timeout, then failed logins are counted in this process: the second sign-in
        # does not wait on Redis again.
        assert (tried, silent.accepted) == (1, 1)
        await rt.engine.dispose()


async def test_healthz_without_redis_says_the_bus_is_off(database_url: str) -> None:
    rt = build_runtime(Settings(database={"url": database_url}), FakeFaq())
    async with TestClient(TestServer(build_app(rt, start_background=False))) as c:
        r = await c.get("/healthz")
        assert (r.status, await r.json()) == (
            200, {"ok": True, "event_bus": "off", "database": "ok"})
    await rt.engine.dispose()
