"""Speed of the desk: a login's password check, the queue list, a reminder pass, takes.

Run: .venv/bin/python -m bench.desk
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bots.web.passwords import hash_password, verify_password
from handlers.model import Channel, IncomingMessage
from handlers.ports import Escalation
from handlers.reminders import ReminderJob
from priemnaya.settings import default_queues
from priemnaya.settings_work import CalendarSettings, build_queue_directory
from storage.conversations import SqlConversationStore
from storage.desk_queries import SqlDeskQueries, SqlReplyTargets
from storage.engine import build_engine, build_sessions
from storage.migrate import upgrade
from storage.users import SqlStaffAccounts

CONVERSATIONS = 1000
START = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


class Quiet:
    async def publish(self, event: object) -> None:
        pass


def per_call(label: str, seconds: float, calls: int) -> None:
    print(f"{label}: {seconds / calls * 1000:.1f} ms per call ({calls} calls)")


async def fill(store: SqlConversationStore) -> None:
    for n in range(CONVERSATIONS):
        at = START + timedelta(seconds=n)
        rec = await store.record_incoming(IncomingMessage(Channel.WEB, f"u{n}", f"e{n}", "?"), at)
        assert rec is not None
        await store.escalate(rec.conversation.id,
                             Escalation("general", "", False, None, "client"), at)


async def main() -> None:
    stored = hash_password("bench-password")
    started = time.perf_counter()
    for _ in range(5):
        await verify_password(stored, "bench-password")
    per_call("argon2 verify (a login)", time.perf_counter() - started, 5)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = build_engine(url)
        sessions = build_sessions(engine)
        store = SqlConversationStore(sessions)
        await fill(store)
        queries = SqlDeskQueries(sessions)
        started = time.perf_counter()
        for _ in range(20):
            rows = await queries.open_conversations()
        per_call(f"queue list of {len(rows)} open conversations",
                 time.perf_counter() - started, 20)
        directory = build_queue_directory(CalendarSettings(), default_queues(), "general")
        job = ReminderJob(SqlReplyTargets(sessions), directory, Quiet(),
                          lambda: START + timedelta(hours=7, minutes=30))
        started = time.perf_counter()
        events = await job.tick()
        per_call(f"reminder pass over {CONVERSATIONS} waiting ({len(events)} reminders)",
                 time.perf_counter() - started, 1)
        started = time.perf_counter()
        events = await job.tick()
        per_call(f"reminder pass over {CONVERSATIONS} waiting, nothing new ({len(events)})",
                 time.perf_counter() - started, 1)
        accounts = SqlStaffAccounts(sessions)
        for login in ("anna", "oleg"):
            await accounts.create(login, login, "specialist", "", START)
        started = time.perf_counter()
        won = await asyncio.gather(*(store.assign(1 + n // 2, 1 + n % 2, True)
                                     for n in range(200)))
        per_call("concurrent take (pairs racing)", time.perf_counter() - started, 200)
        assert sum(won) == 100
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
