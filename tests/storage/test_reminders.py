"""Reminders at 80% of the reply target and breaches, in working time, on a real database."""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from handlers.event_ports import EventKind
from handlers.model import Channel, IncomingMessage
from handlers.ports import Escalation
from handlers.reminders import ReminderJob
from priemnaya.settings_work import CalendarSettings, QueueSettings, build_queue_directory
from storage.conversations import SqlConversationStore
from storage.desk_queries import SqlReplyTargets
from storage.models import Conversation
from tests.fakes import Clock, FakeNotifier

EKB = ZoneInfo("Asia/Yekaterinburg")


def ekb(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=EKB)


@pytest.fixture
def directory():
    # The default calendar: Mon–Thu 08:30–17:30, Fri 08:30–16:15, Russia's holidays.
    return build_queue_directory(
        CalendarSettings(), [QueueSettings(id="general", title="Общие", first_reply_hours=9),
                             QueueSettings(id="urgent", title="Срочные", urgent_hours=4)],
        "general", "urgent")


async def escalated(store: SqlConversationStore, at: datetime, queue: str = "general",
                    urgent: bool = False, user: str = "u1") -> int:
    rec = await store.record_incoming(
        IncomingMessage(Channel.WEB, user, f"e-{user}", "Помогите"), at)
    assert rec is not None
    await store.escalate(rec.conversation.id, Escalation(queue, "", urgent, None, "client"), at)
    return rec.conversation.id


def kinds(events) -> list[tuple[EventKind, int]]:
    return [(e.kind, e.conversation_id) for e in events]


async def test_friday_afternoon_hand_over_is_reminded_on_monday(sessions, directory) -> None:
    store = SqlConversationStore(sessions)
    clock, notifier = Clock(ekb(2026, 11, 27, 16, 0)), FakeNotifier()
    job = ReminderJob(SqlReplyTargets(sessions), directory, notifier, clock)
    conv = await escalated(store, clock())
    # 9 working hours: 15 min on Friday, then Monday from 08:30. 80% (7 h 12 min) is at
    # Monday 15:27, the deadline at Monday 17:15.
    for moment in (ekb(2026, 11, 27, 16, 14), ekb(2026, 11, 28, 12, 0),
                   ekb(2026, 11, 29, 23, 0), ekb(2026, 11, 30, 15, 26)):
        clock.now = moment
        assert await job.tick() == []
    clock.now = ekb(2026, 11, 30, 15, 28)
    assert kinds(await job.tick()) == [(EventKind.REMINDER, conv)]
    assert await job.tick() == []
    clock.now = ekb(2026, 11, 30, 17, 14)
    assert await job.tick() == []
    clock.now = ekb(2026, 11, 30, 17, 16)
    assert kinds(await job.tick()) == [(EventKind.BREACH, conv)]
    clock.now = ekb(2026, 12, 2, 10, 0)
    assert await job.tick() == []
    assert kinds(notifier.events) == [(EventKind.REMINDER, conv), (EventKind.BREACH, conv)]
    async with sessions() as s:
        row = await s.get(Conversation, conv)
    assert row.reminded_at == ekb(2026, 11, 30, 15, 28)
    assert row.breached_at == ekb(2026, 11, 30, 17, 16)


async def test_urgent_uses_the_urgent_target(sessions, directory) -> None:
    store = SqlConversationStore(sessions)
    clock, notifier = Clock(ekb(2026, 11, 30, 9, 0)), FakeNotifier()
    job = ReminderJob(SqlReplyTargets(sessions), directory, notifier, clock)
    conv = await escalated(store, clock(), queue="urgent", urgent=True)
    clock.now = ekb(2026, 11, 30, 12, 11)  # 3 h 11 min of 4 h: just under 80%
    assert await job.tick() == []
    clock.now = ekb(2026, 11, 30, 12, 13)
    assert kinds(await job.tick()) == [(EventKind.REMINDER, conv)]
    clock.now = ekb(2026, 11, 30, 13, 1)
    assert kinds(await job.tick()) == [(EventKind.BREACH, conv)]


async def test_first_reply_stops_reminders(sessions, directory) -> None:
    store = SqlConversationStore(sessions)
    clock, notifier = Clock(ekb(2026, 11, 30, 9, 0)), FakeNotifier()
    job = ReminderJob(SqlReplyTargets(sessions), directory, notifier, clock)
    answered = await escalated(store, clock(), user="a")
    waiting = await escalated(store, clock(), user="b")
    await store.record_specialist_message(answered, None, "Здравствуйте!", False,
                                          ekb(2026, 11, 30, 10, 0))
    clock.now = ekb(2026, 12, 1, 16, 0)
    assert kinds(await job.tick()) == [(EventKind.BREACH, waiting)]
    assert kinds(notifier.events) == [(EventKind.BREACH, waiting)]


async def test_two_jobs_publish_each_event_once(sessions, directory) -> None:
    store = SqlConversationStore(sessions)
    clock = Clock(ekb(2026, 11, 30, 9, 0))
    first, second = FakeNotifier(), FakeNotifier()
    conv = await escalated(store, clock())
    clock.now = ekb(2026, 11, 30, 16, 30)
    for notifier in (first, second):
        await ReminderJob(SqlReplyTargets(sessions), directory, notifier, clock).tick()
    assert kinds(first.events + second.events) == [(EventKind.REMINDER, conv)]


async def test_run_keeps_going_after_a_failed_pass(directory) -> None:
    class Broken:
        calls = 0

        async def waiting(self):
            Broken.calls += 1
            if Broken.calls == 1:
                raise ConnectionError("database away")
            return []

    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise StopAsyncIteration

    job = ReminderJob(Broken(), directory, FakeNotifier(), Clock(), interval_s=7, sleep=sleep)
    with pytest.raises(StopAsyncIteration):
        await job.run()
    assert (Broken.calls, sleeps) == (2, [7, 7])


async def test_an_outage_is_logged_in_full_once_then_a_line_a_minute(
        directory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "handlers.reminders")

    class Down:
        """The database away for 150 passes; each pass is a second on its clock."""

        calls = 0

        async def waiting(self):
            Down.calls += 1
            if Down.calls <= 150:
                raise OSError("connection refused\n[SQL: SELECT ...]")
            return []

    async def sleep(seconds: float) -> None:
        if Down.calls == 155:
            raise StopAsyncIteration

    job = ReminderJob(Down(), directory, FakeNotifier(), Clock(), sleep=sleep,
                      monotonic=lambda: float(Down.calls))
    with pytest.raises(StopAsyncIteration):
        await job.run()
    records = [r for r in caplog.records if r.name == "handlers.reminders"]
    assert [(r.levelname, r.getMessage(), r.exc_info is not None) for r in records] == [
        ("ERROR", "reminder pass failed", True),
        ("ERROR", "reminder pass still failing for 60 s (61 failures): "
                  "OSError: connection refused", False),
        ("ERROR", "reminder pass still failing for 120 s (121 failures): "
                  "OSError: connection refused", False),
        ("INFO", "reminder pass works again after 150 s (150 failures)", False),
    ]
