"""An erasure and the client's messages arriving at the same moment (152-ФЗ)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.util import await_

from handlers.model import Channel, IncomingMessage, Recorded
from storage.conversations import SqlConversationStore
from storage.hot_path import HotPath
from storage.models import Client, InboundEvent, Message
from storage.raw_names import ERASED_KIND, ERASURE_WINDOW, _names
from storage.staff import SqlInboundLog

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
PHONE = "8-912-000-00-11"


def vk_body(user: str, text: str, number: int) -> str:
    return json.dumps({"type": "message_new", "object": {"message": {
        "peer_id": int(user), "from_id": int(user), "conversation_message_id": number,
        "text": text}}}, ensure_ascii=False)


async def raw_events(sessions) -> dict[str, tuple[str, str]]:
    async with sessions() as s:
        rows = await s.execute(select(InboundEvent.dedupe_key, InboundEvent.status,
                                      InboundEvent.raw))
        return {key: (status, raw) for key, status, raw in rows.all()}


async def asked_to_erase(sessions, late_key: str = "late", late_text: str = f"Мой телефон {PHONE}"
                         ) -> tuple[SqlInboundLog, SqlConversationStore, Recorded]:
    """A VK client who asked for erasure, and their next message kept as a raw event by
    another replica, not yet stored."""
    inbound = SqlInboundLog(sessions)
    store = SqlConversationStore(sessions, inbound=inbound)
    first = await store.record_incoming(IncomingMessage(Channel.VK, "3300", "m1", "удалите"),
                                        NOW)
    assert first is not None
    await inbound.keep("vk", late_key, "message_new", vk_body("3300", late_text, 2), NOW)
    return inbound, store, first


async def test_events_unprocessed_at_erasure_lose_their_body_once_processed(sessions) -> None:
    inbound = SqlInboundLog(sessions)
    store = SqlConversationStore(sessions, inbound=inbound)
    rec = await store.record_incoming(
        IncomingMessage(Channel.VK, "3300", "m1", f"Мой телефон {PHONE}"), NOW)
    # Being processed on another replica: stored, its status not yet written.
    await inbound.keep("vk", "busy", "message_new", vk_body("3300", f"Мой телефон {PHONE}", 1),
                       NOW)
    await inbound.keep("vk", "stranger", "message_new", vk_body("7", f"тел {PHONE}", 1), NOW)
    await store.erase_client(rec.client.id, NOW)
    status, raw = (await raw_events(sessions))["vk:busy"]
    assert status == "received" and PHONE not in raw
    assert json.loads(raw)["object"]["message"]["peer_id"] == 3300  # still processable
    await inbound.mark("vk", "busy", "processed")
    await inbound.mark("vk", "stranger", "processed")
    await inbound.flush()
    events = await raw_events(sessions)
    assert events["vk:busy"] == ("processed", "")
    assert PHONE in events["vk:stranger"][1]  # another client's raw copy stays


async def test_message_finding_its_client_just_before_the_erasure_is_stored_blank(
        sessions, monkeypatch: pytest.MonkeyPatch) -> None:
    if sessions.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite runs one writer at a time: no interleaving")
    inbound, store, first = await asked_to_erase(sessions)
    found, erased = asyncio.Event(), asyncio.Event()
    find = HotPath._find_clients

    def find_then_wait(self, conn, msgs):  # type: ignore[no-untyped-def]
        rows = find(self, conn, msgs)
        found.set()
        # The erasure commits between the look-up and the writes (the hot path's statements
        # run in one greenlet: the wait is awaited from inside it).
        await_(erased.wait())
        return rows

    monkeypatch.setattr(HotPath, "_find_clients", find_then_wait)
    late = asyncio.create_task(store.record_incoming(
        IncomingMessage(Channel.VK, "3300", "m2", f"Мой телефон {PHONE}", "Мария"), NOW))
    await found.wait()
    await store.erase_client(first.client.id, NOW)
    erased.set()
    assert await late is None  # not answered: the client is gone
    async with sessions() as s:
        texts = list(await s.scalars(select(Message.text).where(
            Message.client_id == first.client.id)))
        client = await s.get_one(Client, first.client.id)
        kind = await s.scalar(select(InboundEvent.kind).where(
            InboundEvent.dedupe_key == "vk:late"))
    assert texts == ["", ""] and client.display_name == "" and kind == ERASED_KIND
    await inbound.mark("vk", "late", "processed")
    await inbound.flush()
    assert (await raw_events(sessions))["vk:late"] == ("processed", "")


async def test_message_pending_at_the_erasure_and_stored_after_it_is_not_kept(
        sessions) -> None:
    inbound, store, first = await asked_to_erase(sessions)  # "late": not yet stored
    await store.erase_client(first.client.id, NOW)
    late = IncomingMessage(Channel.VK, "3300", "m2", f"Мой телефон {PHONE}", "Мария")
    assert await store.record_incoming(late, NOW) is None
    await inbound.mark("vk", "late", "skipped")
    await inbound.flush()
    async with sessions() as s:
        texts = list(await s.scalars(select(Message.text)))
        names = list(await s.scalars(select(Client.display_name)))
    assert texts == [""] and names == [""]
    assert (await raw_events(sessions))["vk:late"] == ("skipped", "")
    # Once the erasure's events are done, the same person writing again is a new client.
    again = await store.record_incoming(IncomingMessage(Channel.VK, "3300", "m3", "снова"), NOW)
    assert again is not None and again.client.id != first.client.id


async def test_an_erased_event_left_pending_silences_its_sender_a_minute_at_most(
        sessions) -> None:
    _, store, first = await asked_to_erase(sessions, "stuck", "текст")
    await store.erase_client(first.client.id, NOW)  # "stuck" is never marked (a crash)
    later = NOW + ERASURE_WINDOW + timedelta(seconds=1)
    again = await store.record_incoming(IncomingMessage(Channel.VK, "3300", "m3", "снова"),
                                        later)
    assert again is not None and again.client.id != first.client.id


def test_a_pending_erased_event_names_a_user_only_by_the_whole_id() -> None:
    # Another client's message is never dropped because their id is part of a number in an
    # erased client's pending event (a date, a message id).
    raw = '{"object": {"message": {"from_id": 5551234, "date": 1712341234, "id": 1234}}}'
    assert _names("5551234", raw) and _names("1234", raw)
    assert not _names("555", raw) and not _names("341", raw) and not _names("12341", raw)
