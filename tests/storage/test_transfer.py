"""Transfers and releases on SQLite and PostgreSQL: waiting again, in the history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from handlers.event_ports import EventKind
from handlers.model import Author, Channel, IncomingMessage, State
from handlers.ports import Escalation, Holder
from handlers.reminders import ReminderJob
from priemnaya.settings_work import CalendarSettings, QueueSettings, build_queue_directory
from storage.conversations import SqlConversationStore
from storage.desk_queries import SqlDeskQueries, SqlReplyTargets
from storage.models import Conversation, Message, OutboxItem, Specialist
from tests.fakes import Clock, FakeNotifier

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)  # Monday 10:00 in Yekaterinburg


async def handed_over(sessions, store: SqlConversationStore, user: str = "42") -> int:
    rec = await store.record_incoming(
        IncomingMessage(Channel.VK, user, f"e-{user}", "Как оформить субсидию?"), NOW)
    assert rec is not None
    cid = rec.conversation.id
    await store.escalate(cid, Escalation("general", "", False, None, "client"), NOW)
    return cid


async def staff(sessions) -> tuple[int, int]:
    async with sessions.begin() as s:
        people = [Specialist(login=login, display_name=login, created_at=NOW)
                  for login in ("anna", "oleg")]
        s.add_all(people)
        await s.flush()
        return people[0].id, people[1].id


async def conversation(sessions, cid: int) -> Conversation:
    async with sessions() as s:
        return await s.get_one(Conversation, cid)


async def outbox_size(sessions) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(OutboxItem)))


async def test_a_transferred_conversation_waits_unassigned_in_the_new_queue(sessions) -> None:
    store = SqlConversationStore(sessions)
    cid, (anna, _) = await handed_over(sessions, store), await staff(sessions)
    assert await store.assign(cid, anna, only_if_free=True)
    assert await store.record_specialist_message(cid, anna, "Уточню", False,
                                                 NOW + timedelta(minutes=10))
    moved_at = NOW + timedelta(hours=1)
    assert await store.transfer(cid, "urgent", anna, moved_at)
    conv = await conversation(sessions, cid)
    assert (conv.state, conv.queue, conv.assigned_to) == (State.WAITING, "urgent", None)
    # The client's clock still runs from the hand-over; the first reply stays recorded.
    assert conv.escalated_at == NOW
    assert conv.first_specialist_reply_at == NOW + timedelta(minutes=10)
    waiting = await SqlDeskQueries(sessions).open_conversations("urgent")
    assert [(r.id, r.state) for r in waiting] == [(cid, State.WAITING)]
    async with sessions() as s:
        kept = (await s.scalars(select(Message).where(Message.author == "system"))).one()
    assert (kept.action, kept.specialist_id, kept.internal, kept.created_at) == (
        "transfer:general>urgent", anna, True, moved_at)
    assert not await store.transfer(cid, "urgent", anna, moved_at)  # already there


async def test_a_conversation_with_the_bot_alone_is_not_transferred(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(IncomingMessage(Channel.VK, "7", "e1", "Привет"), NOW)
    assert rec is not None
    assert not await store.transfer(rec.conversation.id, "urgent", None, NOW)
    assert (await conversation(sessions, rec.conversation.id)).state == State.BOT


async def test_who_transferred_it_must_take_it_back_before_replying(sessions) -> None:
    store = SqlConversationStore(sessions)
    cid, (anna, oleg) = await handed_over(sessions, store), await staff(sessions)
    await store.assign(cid, anna, only_if_free=True)
    await store.transfer(cid, "urgent", anna, NOW)
    assert await store.transferred_away(cid, anna)
    assert not await store.transferred_away(cid, oleg)
    assert await store.record_specialist_message(cid, anna, "Ответ", False, NOW) is None
    assert await outbox_size(sessions) == 0
    conv = await conversation(sessions, cid)
    assert (conv.state, conv.assigned_to) == (State.WAITING, None)
    assert await store.record_specialist_message(cid, anna, "Заметка", True, NOW) is not None
    assert await store.assign(cid, anna, only_if_free=True)  # taken back, explicitly
    assert not await store.transferred_away(cid, anna)
    assert await store.record_specialist_message(cid, anna, "Ответ", False, NOW) is not None
    assert await outbox_size(sessions) == 1


async def test_a_reply_already_sent_on_the_platform_does_not_take_it_back(sessions) -> None:
    store = SqlConversationStore(sessions)
    cid, (anna, _) = await handed_over(sessions, store), await staff(sessions)
    await store.transfer(cid, "urgent", anna, NOW)
    kept = await store.record_specialist_message(cid, anna, "Ответ в ВК", False, NOW,
                                                 dedupe_key="vk:reply:1", deliver=False)
    assert kept is not None
    conv = await conversation(sessions, cid)
    assert (conv.state, conv.queue, conv.assigned_to) == (State.WAITING, "urgent", None)


async def test_the_new_queue_gets_a_reminder_of_its_own(sessions) -> None:
    directory = build_queue_directory(
        CalendarSettings(), [QueueSettings(id="general", title="Общие", first_reply_hours=9),
                             QueueSettings(id="urgent", title="Срочные", first_reply_hours=9)],
        "general", "urgent")
    store = SqlConversationStore(sessions)
    cid = await handed_over(sessions, store)
    clock, notifier = Clock(NOW + timedelta(hours=7, minutes=15)), FakeNotifier()
    job = ReminderJob(SqlReplyTargets(sessions), directory, notifier, clock)
    assert [(e.kind, e.text) for e in await job.tick()] == [(EventKind.REMINDER, "general")]
    await store.transfer(cid, "urgent", None, clock())
    assert [(e.kind, e.text) for e in await job.tick()] == [(EventKind.REMINDER, "urgent")]
    assert await job.tick() == []


async def test_a_released_conversation_waits_again_in_its_queue(sessions) -> None:
    store = SqlConversationStore(sessions)
    cid, (anna, _) = await handed_over(sessions, store), await staff(sessions)
    await store.assign(cid, anna, only_if_free=True)
    await store.record_specialist_message(cid, anna, "Уточню", False, NOW)
    assert (await conversation(sessions, cid)).state == State.WITH_SPECIALIST
    assert await store.assign(cid, None, only_if_free=False)
    conv = await conversation(sessions, cid)
    assert (conv.state, conv.queue, conv.assigned_to) == (State.WAITING, "general", None)
    waiting = await SqlDeskQueries(sessions).open_conversations("general")
    assert [(r.id, r.state) for r in waiting] == [(cid, State.WAITING)]


async def test_a_transfer_or_close_for_a_holder_no_longer_so_changes_nothing(sessions) -> None:
    """Both pages drawn while it waited free in «general»: Oleg takes it first, then Anna's
    transfer and close from her older page arrive."""
    store = SqlConversationStore(sessions)
    _, oleg = await staff(sessions)
    cid = await handed_over(sessions, store)
    seen = Holder("general", None)
    assert await store.assign(cid, oleg, only_if_free=True)
    assert not await store.transfer(cid, "urgent", None, NOW, seen)
    assert not await store.close(cid, NOW, Author.SPECIALIST, seen)
    row = await conversation(sessions, cid)
    assert (row.queue, row.state, row.assigned_to) == ("general", State.WAITING, oleg)
    assert await store.close(cid, NOW, Author.SPECIALIST, Holder("general", oleg))


async def test_a_close_and_a_transfer_at_one_instant_exactly_one_is_done(sessions) -> None:
    store = SqlConversationStore(sessions)
    anna, _ = await staff(sessions)
    cid = await handed_over(sessions, store)
    assert await store.assign(cid, anna, only_if_free=True)
    seen = Holder("general", anna)
    done = await asyncio.gather(store.transfer(cid, "urgent", anna, NOW, seen),
                                store.close(cid, NOW, Author.SPECIALIST, seen))
    assert sorted(done) == [False, True]


async def test_a_close_waiting_on_a_colleagues_take_sees_the_take(sessions) -> None:
    """PostgreSQL re-reads the row a concurrent UPDATE waited for: the condition in the
    UPDATE itself refuses the close a check read before it would have let through."""
    if sessions.kw["bind"].dialect.name == "sqlite":
        pytest.skip("SQLite runs one writer at a time: no interleaving")
    store = SqlConversationStore(sessions)
    _, oleg = await staff(sessions)
    cid = await handed_over(sessions, store)
    async with sessions.begin() as s:
        await s.execute(update(Conversation).where(Conversation.id == cid)
                        .values(assigned_to=oleg))  # Oleg's take, not yet committed
        close = asyncio.create_task(
            store.close(cid, NOW, Author.SPECIALIST, Holder("general", None)))
        await asyncio.sleep(0.3)
        assert not close.done()  # waiting for the row
    assert not await close
    assert (await conversation(sessions, cid)).state == State.WAITING
