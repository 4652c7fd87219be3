"""Queues on the admin pages: every configured one in the filters, titles in the audit."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from analytics.logbook import audit
from handlers.model import Channel, IncomingMessage
from handlers.ports import Escalation
from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from storage.models import Client, Conversation, Specialist
from tests.bots.staff import Staff, add_staff, log_in
from tests.fakes import Clock, FakeFaq


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Staff]:
    clock = Clock()
    rt = build_runtime(Settings(database={"url": database_url}), FakeFaq(), clock=clock)
    await add_staff(rt, clock)
    staff = Staff(TestClient(TestServer(build_app(rt, start_background=False))), rt, clock)
    async with staff.client:
        yield staff
    await rt.engine.dispose()


async def test_a_transfer_names_the_queues_by_their_titles(site: Staff) -> None:
    for details in ("general -> urgent", "retired -> general"):
        await audit(site.rt.sessions, site.clock(), "anna", "desk_transfer", "conversation",
                    "7", details)
    await log_in(site.client, "boss")
    page = await (await site.client.get("/admin/audit")).text()
    assert "из «Общие вопросы» в «Срочные обращения»" in page
    assert "из «retired» в «Общие вопросы»" in page  # a queue no longer configured: its id
    assert "general -&gt; urgent" not in page


async def test_the_queue_filter_offers_every_configured_queue(site: Staff) -> None:
    # No conversation has reached a queue yet; one old conversation names a retired queue.
    async with site.rt.sessions.begin() as s:
        client = Client(channel="web", user_id="u1", created_at=site.clock(),
                        last_seen_at=site.clock())
        s.add(client)
        await s.flush()
        s.add(Conversation(client_id=client.id, channel="web", queue="retired",
                           opened_at=site.clock(), last_activity_at=site.clock()))
    await log_in(site.client, "boss")
    page = await (await site.client.get("/admin/log")).text()
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>',
                         page.split('name="queue"')[1].split("</select>")[0])
    configured = [(q.id, q.title) for q in site.rt.settings.queues]
    assert ("urgent", "Срочные обращения") in configured
    assert options == [("", "все"), *configured, ("retired", "retired")]


async def test_the_transcript_shows_a_transfer_in_words(site: Staff) -> None:
    rec = await site.rt.store.record_incoming(
        IncomingMessage(Channel.WEB, "u1", "e1", "Как оформить субсидию?"), site.clock())
    assert rec is not None
    cid = rec.conversation.id
    await site.rt.store.escalate(cid, Escalation("general", "", False, None, "client"),
                                 site.clock())
    async with site.rt.sessions() as s:
        anna = await s.scalar(select(Specialist.id).where(Specialist.login == "anna"))
    assert await site.rt.desk.transfer(cid, "urgent", anna)
    await log_in(site.client, "boss")
    page = await (await site.client.get(f"/admin/conversations/{cid}")).text()
    assert "передано из очереди «Общие вопросы» в очередь «Срочные обращения»" in page
    assert "transfer:" not in page
    who = re.search(r'<div class="who">(.*?)</div>', page.split("передано из очереди")[0]
                    .rsplit('<div class="msg-line', 1)[1], re.S)
    assert who and re.sub(r"\s+", " ", who.group(1)).startswith("Передача · Anna · ")
    assert "заметка" not in who.group(1)  # as on the desk: who moved it, not «Система»
