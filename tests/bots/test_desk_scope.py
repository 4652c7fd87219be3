"""The desk list shows a queue member their own queues first, and every queue on request."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import update

from priemnaya.runtime import Runtime, build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from storage.models import Conversation
from tests.bots.staff import Browser, add_staff, log_in
from tests.bots.test_desk import waiting_conversation
from tests.fakes import Clock, FakeFaq


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[tuple[TestServer, Runtime, dict[str, int]]]:
    clock = Clock()
    settings = Settings(database={"url": database_url}, queues=[
        {"id": "general", "title": "Общие", "members": ["anna"]},
        {"id": "urgent", "title": "Срочные"}])
    rt = build_runtime(settings, FakeFaq(), clock=clock)
    ids = await add_staff(rt, clock)
    server = TestServer(build_app(rt, start_background=False))
    await server.start_server()
    yield server, rt, ids
    await server.close()
    await rt.engine.dispose()


async def in_queue(rt: Runtime, user: str, queue: str, assigned_to: int | None = None) -> int:
    conv = await waiting_conversation(rt, user=user)
    async with rt.sessions.begin() as s:
        await s.execute(update(Conversation).where(Conversation.id == conv)
                        .values(queue=queue, assigned_to=assigned_to))
    return conv


async def listed(server: TestServer, login: str, query: str = "") -> str:
    c = Browser(server)
    assert (await log_in(c, login)).status == 303
    page = await (await c.get(f"/desk/{query}")).text()
    await c.close()
    return page


async def test_a_member_sees_their_queues_and_one_click_shows_all(served) -> None:
    server, rt, ids = served
    mine = await in_queue(rt, "client-token-0031", "general")
    other = await in_queue(rt, "client-token-0032", "urgent")
    assigned = await in_queue(rt, "client-token-0033", "urgent", assigned_to=ids["anna"])
    page = await listed(server, "anna")
    assert f"/desk/c/{mine}" in page and f"/desk/c/{assigned}" in page
    assert f"/desk/c/{other}" not in page
    assert "мои очереди" in page and "Показаны ваши очереди («Общие»)" in page
    assert 'href="/desk/?queue=%2A"' in page
    everything = await listed(server, "anna", "?queue=%2A")
    assert all(f"/desk/c/{c}" in everything for c in (mine, other, assigned))
    assert "Показаны ваши очереди" not in everything
    assert f"/desk/c/{other}" in await listed(server, "anna", "?queue=urgent")
    for login in ("oleg", "boss"):  # no membership, or an administrator: every queue
        page = await listed(server, login)
        assert all(f"/desk/c/{c}" in page for c in (mine, other, assigned)), login
        assert "мои очереди" not in page, login
