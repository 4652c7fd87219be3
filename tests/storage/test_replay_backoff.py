"""An event that keeps failing for a transient reason is replayed ever less often, never
dropped, and shown to an administrator after a few replays in vain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.models import InboundEvent
from storage.replay_backoff import ATTENTION_AFTER, pause_after, stuck_events
from storage.staff import SqlInboundLog

KEPT = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
BODY = '{"type": "message_new", "object": {"message": {"peer_id": 3301, "text": "Помогите"}}}'


def test_the_pause_doubles_from_a_minute_up_to_an_hour() -> None:
    assert [pause_after(n).total_seconds() for n in range(1, 10)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]
    assert pause_after(10_000) == timedelta(hours=1)


async def replays_until(inbound: SqlInboundLog, start: datetime, end: datetime) -> list[int]:
    """The minutes (from `start`) at which a replay job running every minute took it up."""
    taken, now = [], start
    while now <= end:
        if await inbound.unfinished("vk", now - timedelta(minutes=2), now, 100):
            taken.append(int((now - start).total_seconds() // 60))
            # The replay failed again: the event is left "received", as processing marks it.
            await inbound.mark("vk", "e1", "received", "OperationalError: database is locked")
            await inbound.flush()
        now += timedelta(minutes=1)
    return taken


async def test_a_failing_event_is_replayed_less_often_and_kept(sessions) -> None:
    inbound = SqlInboundLog(sessions)
    assert await inbound.keep("vk", "e1", "message_new", BODY, KEPT)
    start = KEPT + timedelta(minutes=3)
    assert await replays_until(inbound, start, start + timedelta(hours=5)) == [
        0, 1, 3, 7, 15, 31, 63, 123, 183, 243]
    async with sessions() as s:
        row = (await s.execute(select(InboundEvent.status, InboundEvent.raw,
                                      InboundEvent.attempts))).one()
    assert tuple(row) == ("received", BODY, 10)  # still there, for when the database recovers


async def test_an_event_replayed_in_vain_is_shown_to_the_administrator(sessions) -> None:
    inbound = SqlInboundLog(sessions)
    assert await inbound.keep("vk", "e1", "message_new", BODY, KEPT)
    assert await inbound.keep("vk", "e2", "message_new", BODY, KEPT)
    now = KEPT + timedelta(minutes=3)
    for attempt in range(1, ATTENTION_AFTER + 1):
        assert (await stuck_events(sessions)).count == 0, attempt
        assert len(await inbound.unfinished("vk", now, now, 100)) == (2 if attempt == 1 else 1)
        await inbound.mark("vk", "e1", "received", "OperationalError: database is locked\n[SQL]")
        await inbound.mark("vk", "e2", "processed")  # the other one made it the first time
        await inbound.flush()
        now += pause_after(attempt)
    stuck = await stuck_events(sessions)
    assert stuck.count == 1
    [event] = stuck.oldest
    assert (event.channel, event.received_at, event.attempts, event.error) == (
        "vk", KEPT, ATTENTION_AFTER, "OperationalError: database is locked")


async def test_an_event_is_taken_by_one_replay_at_a_time(sessions) -> None:
    first, second = SqlInboundLog(sessions), SqlInboundLog(sessions)
    assert await first.keep("vk", "e1", "message_new", BODY, KEPT)
    now = KEPT + timedelta(minutes=3)
    assert await first.unfinished("vk", now, now, 100) == [BODY]
    assert await second.unfinished("vk", now, now, 100) == []  # another replica, same minute
