"""/healthz: 503 with a reason when the database is gone, its probe cached and shared."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import make_url

from priemnaya.health import DatabaseProbe
from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from tests.conftest import PG_SKIP, PG_URL
from tests.fakes import FakeFaq

# Nothing listens on port 1: the connection is refused at once.
REFUSED = "postgresql+asyncpg://priemnaya:s3cret-pass@127.0.0.1:1/priemnaya"


class Pings:
    def __init__(self) -> None:
        self.count, self.now, self.fail = 0, 0.0, False

    async def ping(self) -> None:
        self.count += 1
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionRefusedError("connection refused")


async def test_healthz_is_503_with_the_reason_when_the_database_is_unreachable() -> None:
    rt = build_runtime(Settings(database={"url": REFUSED}), FakeFaq())
    async with TestClient(TestServer(build_app(rt, start_background=False))) as c:
        r = await c.get("/healthz")
        body = await r.json()
    assert (r.status, body["ok"], body["event_bus"], body["database"]) == (
        503, False, "off", "down")
    assert body["reason"].startswith("the database failed: ")
    assert "s3cret" not in body["reason"]
    await rt.engine.dispose()


async def test_healthz_is_200_while_the_database_answers(database_url: str) -> None:
    rt = build_runtime(Settings(database={"url": database_url}), FakeFaq())
    async with TestClient(TestServer(build_app(rt, start_background=False))) as c:
        r = await c.get("/healthz")
        assert (r.status, await r.json()) == (200, {"ok": True, "event_bus": "off",
                                                    "database": "ok"})
    await rt.engine.dispose()


async def test_probes_within_the_cache_time_ask_the_database_once() -> None:
    pings = Pings()
    probe = DatabaseProbe(pings.ping, monotonic=lambda: pings.now, cache_s=1.5)
    results = await asyncio.gather(*(probe.check() for _ in range(20)))
    pings.now = 1.4
    await probe.check()
    assert (pings.count, all(r.ok for r in results)) == (1, True)
    pings.now, pings.fail = 1.6, True
    assert (await probe.check()).reason == (
        "the database failed: ConnectionRefusedError: connection refused")
    assert pings.count == 2


async def test_a_database_that_does_not_answer_fails_the_probe_after_the_timeout() -> None:
    async def hang() -> None:
        await asyncio.sleep(30)

    probe = DatabaseProbe(hang, timeout_s=0.05)
    assert (await probe.check()).reason == "the database did not answer in 0.05 s"


async def test_healthz_is_503_once_the_postgresql_database_is_dropped() -> None:
    if not PG_URL:
        pytest.skip(PG_SKIP)
    base = make_url(PG_URL)
    name = f"priemnaya_health_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(base.set(drivername="postgresql").render_as_string(False))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = base.set(database=name).render_as_string(hide_password=False)
        rt = build_runtime(Settings(database={"url": url}), FakeFaq())
        async with TestClient(TestServer(build_app(rt, start_background=False))) as c:
            assert (await c.get("/healthz")).status == 200
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await asyncio.sleep(1.6)  # past the cached answer
            r = await c.get("/healthz")
            body = await r.json()
        assert (r.status, body["database"]) == (503, "down")
        assert name in body["reason"]
        await rt.engine.dispose()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
