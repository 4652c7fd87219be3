"""GroupCommit batches concurrent writes; SqlInboundLog keeps through it and marks later."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, select, text

from storage.group_commit import GroupCommit
from storage.models import InboundEvent
from storage.staff import SqlInboundLog

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


class Recorder:
    def __init__(self, fail_on: int | None = None) -> None:
        self.batches: list[list[int]] = []
        self.fail_on = fail_on

    async def write(self, items: Sequence[int]) -> list[int]:
        self.batches.append(list(items))
        await asyncio.sleep(0.01)  # a write that takes time: later callers queue up
        if self.fail_on in items:
            raise RuntimeError("disk full")
        return [i * 10 for i in items]


async def test_callers_ready_together_share_one_write_and_get_their_own_result() -> None:
    rec = Recorder()
    group = GroupCommit(rec.write)
    results = await asyncio.gather(*(group.submit(i) for i in range(8)))
    assert results == [i * 10 for i in range(8)]
    assert rec.batches == [list(range(8))]


async def test_callers_arriving_during_a_write_go_in_the_next_batch() -> None:
    rec = Recorder()
    group = GroupCommit(rec.write, max_batch=3)
    first = asyncio.create_task(group.submit(1))
    await asyncio.sleep(0.002)  # the first batch is being written
    later = await asyncio.gather(*(group.submit(i) for i in range(2, 7)))
    assert await first == 10 and later == [20, 30, 40, 50, 60]
    assert rec.batches == [[1], [2, 3, 4], [5, 6]]


async def test_a_failed_write_fails_its_callers_only() -> None:
    rec = Recorder(fail_on=2)
    group = GroupCommit(rec.write, max_batch=2)
    results = await asyncio.gather(*(group.submit(i) for i in (1, 2, 3)),
                                   return_exceptions=True)
    assert isinstance(results[0], RuntimeError) and isinstance(results[1], RuntimeError)
    assert results[2] == 30


async def test_with_a_path_of_its_own_one_bad_item_fails_alone() -> None:
    rec = Recorder(fail_on=2)
    alone: list[int] = []

    async def one(item: int) -> int:
        alone.append(item)
        if item == 2:
            raise ValueError("refused")
        return item * 100

    group = GroupCommit(rec.write, one=one)
    results = await asyncio.gather(*(group.submit(i) for i in (1, 2, 3)),
                                   return_exceptions=True)
    assert rec.batches == [[1, 2, 3]]  # tried together first
    assert alone == [1, 2, 3]
    assert results[0] == 100 and isinstance(results[1], ValueError) and results[2] == 300


async def test_a_caller_that_gives_up_does_not_cancel_the_batch() -> None:
    rec = Recorder()
    group = GroupCommit(rec.write)
    impatient = asyncio.create_task(group.submit(1))
    patient = asyncio.create_task(group.submit(2))
    await asyncio.sleep(0.002)
    impatient.cancel()
    assert await patient == 20
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert rec.batches == [[1, 2]]


async def test_concurrent_keeps_of_one_event_store_it_once(sessions) -> None:
    log = SqlInboundLog(sessions)
    kept = await asyncio.gather(
        *(log.keep("telegram", key, "message", "{}", NOW) for key in ("1", "2", "1", "1")))
    assert kept == [True, True, False, False]
    assert not await log.keep("telegram", "2", "message", "{}", NOW)
    await asyncio.gather(log.mark("telegram", "1", "processed"),
                         log.mark("telegram", "2", "failed", "boom"))
    await log.flush()
    async with sessions() as s:
        rows = (await s.execute(select(InboundEvent.dedupe_key, InboundEvent.status,
                                       InboundEvent.error).order_by(InboundEvent.id))).all()
    assert [tuple(r) for r in rows] == [("telegram:1", "processed", ""),
                                        ("telegram:2", "failed", "boom")]


async def test_a_batch_of_keeps_is_one_statement_and_its_first_copy_is_kept(sessions) -> None:
    log = SqlInboundLog(sessions)
    assert await log.keep("vk", "0", "message_new", "{}", NOW)
    statements: list[str] = []
    engine = sessions.kw["bind"].sync_engine

    def on_statement(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        kept = await asyncio.gather(*(log.keep("vk", key, "message_new", raw, NOW) for key, raw
                                      in (("1", "first"), ("0", "again"), ("1", "second"))))
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
    assert kept == [True, False, False]
    assert len(statements) == 1
    async with sessions() as s:
        rows = (await s.execute(select(InboundEvent.dedupe_key, InboundEvent.raw)
                                .order_by(InboundEvent.id))).all()
    assert [tuple(r) for r in rows] == [("vk:0", "{}"), ("vk:1", "first")]


async def test_a_cancelled_writer_leaves_no_caller_waiting_for_ever() -> None:
    started = asyncio.Event()

    async def stuck(items: Sequence[int]) -> list[int]:
        started.set()
        await asyncio.sleep(3600)
        return list(items)

    group = GroupCommit(stuck, max_batch=1)
    callers = [asyncio.create_task(group.submit(i)) for i in range(3)]
    await started.wait()
    assert group._flusher is not None
    group._flusher.cancel()
    done, pending = await asyncio.wait(callers, timeout=1)
    assert not pending and all(t.cancelled() for t in done)


async def _statuses(sessions) -> dict[str, str]:
    async with sessions() as s:
        return dict((await s.execute(select(InboundEvent.dedupe_key,
                                            InboundEvent.status))).all())


async def test_marks_are_written_shortly_after_in_one_transaction(sessions) -> None:
    log = SqlInboundLog(sessions)
    keys = [str(i) for i in range(40)]
    assert all(await asyncio.gather(
        *(log.keep("telegram", k, "message", "{}", NOW) for k in keys)))
    commits: list[object] = []
    engine = sessions.kw["bind"].sync_engine
    count = commits.append
    event.listen(engine, "commit", count)
    try:
        for k in keys:  # returns at once: nobody waits for a status
            await log.mark("telegram", k, "processed")
        for _ in range(200):  # written by the log itself, without a flush
            if set((await _statuses(sessions)).values()) == {"processed"}:
                break
            await asyncio.sleep(0.01)
    finally:
        event.remove(engine, "commit", count)
    assert set((await _statuses(sessions)).values()) == {"processed"}
    assert len(commits) == 1  # forty statuses, one transaction


async def test_a_status_that_cannot_be_written_leaves_the_event_to_the_replay(
        sessions, caplog: pytest.LogCaptureFixture) -> None:
    log = SqlInboundLog(sessions)
    assert await log.keep("vk", "1", "message_new", "{}", NOW)
    async with sessions.begin() as s:  # the column the status goes to is gone
        await s.execute(text("ALTER TABLE inbound_events RENAME COLUMN status TO state"))
    await log.mark("vk", "1", "processed")  # the caller is not failed
    await log.flush()
    assert "could not record the processing status of 1 events" in caplog.text
    async with sessions.begin() as s:
        await s.execute(text("ALTER TABLE inbound_events RENAME COLUMN state TO status"))
    assert await _statuses(sessions) == {"vk:1": "received"}  # replayed later, not lost
    await log.mark("vk", "1", "processed")
    await log.flush()
    assert await _statuses(sessions) == {"vk:1": "processed"}


async def test_a_failed_batch_is_logged_without_its_sql_and_parameters(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def write(items: Sequence[int]) -> list[int]:
        # What SQLAlchemy's errors look like: the statement and the clients' texts follow.
        raise RuntimeError("(sqlite3.IntegrityError) UNIQUE constraint failed\n"
                           "[SQL: INSERT INTO messages ...]\n[parameters: ('мой СНИЛС', 1)]")

    async def one(item: int) -> int:
        return item

    caplog.set_level("INFO", logger="storage.group_commit")
    assert await GroupCommit(write, one=one).submit(7) == 7
    assert "UNIQUE constraint failed" in caplog.text
    assert "INSERT" not in caplog.text and "СНИЛС" not in caplog.text
