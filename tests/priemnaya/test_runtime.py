"""The composition root: an institution's own texts where the settings say, and channels
added once the runtime is built."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from handlers.model import Author, Channel, IncomingMessage, Reply
from priemnaya.runtime import build_runtime, running
from priemnaya.settings import Settings
from storage.engine import build_engine, build_sessions
from storage.models import OutboxItem
from storage.outbox import SqlDeliveryQueue
from tests.fakes import FakeFaq

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


async def test_client_texts_come_from_messages_beside_web_and_canned(tmp_path: Path) -> None:
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "no_match.j2").write_text("Свой текст", encoding="utf-8")
    # The layout before messages/: a text at the folder's top level is still read.
    (tmp_path / "button_menu.j2").write_text("В начало", encoding="utf-8")
    settings = Settings(database={"url": f"sqlite+aiosqlite:///{tmp_path}/p.db"},
                        templates={"override_dir": tmp_path})
    rt = build_runtime(settings, FakeFaq())
    try:
        assert rt.texts.render("no_match") == "Свой текст"
        assert rt.texts.render("button_menu") == "В начало"
    finally:
        await rt.engine.dispose()



class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, address: str, reply: Reply, key: str) -> str:
        self.sent.append((address, reply.text))
        return f"m{len(self.sent)}"


@dataclass
class SendOnlyPlugin:
    """A channel as the composition root adds it: a sender, nothing else."""

    channel: str
    sender: RecordingSender
    files: None = None
    notifier: None = None


async def test_a_channel_added_after_the_build_gets_its_replies_handed_over(
        sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "p.db")
    rt = build_runtime(Settings(database={"url": f"sqlite+aiosqlite:///{tmp_path}/p.db"}),
                       FakeFaq(), clock=lambda: NOW)
    telegram = SendOnlyPlugin(Channel.TELEGRAM, RecordingSender())
    rt.add_channel(telegram)  # type: ignore[arg-type]  # as priemnaya/serve.py, after the build
    try:
        rec = await rt.store.record_incoming(
            IncomingMessage(Channel.TELEGRAM, "42", "e1", "Вопрос"), NOW)
        assert rec is not None
        await rt.store.enqueue(rec.conversation, rec.client, [Reply("Ответ")], Author.BOT, NOW)
        # Leased to this process's worker and handed to it: no poll claims it...
        assert await SqlDeliveryQueue(rt.sessions).claim_due(NOW, 10) == []
        # ...and the worker's next pass sends it.
        await rt.worker.drain_once()
        assert telegram.sender.sent == [("42", "Ответ")]
    finally:
        await rt.engine.dispose()


class SlowSender:
    """A platform that takes its time: each send waits for `go`."""

    def __init__(self) -> None:
        self.go = asyncio.Event()
        self.started: list[str] = []

    async def send(self, address: str, reply: Reply, key: str) -> str:
        self.started.append(reply.text)
        await self.go.wait()
        return f"m-{key}"


@dataclass
class SlowPlugin:
    channel: str
    sender: SlowSender
    files: None = None
    notifier: None = None

    async def run(self) -> None:
        await asyncio.Event().wait()

    async def close(self) -> None:
        pass


async def test_a_graceful_stop_finishes_the_send_under_way_and_gives_back_the_rest(
        database_url: str) -> None:
    """SIGTERM of a replica mid-send (acceptance): the reply in flight is recorded sent once,
    and the chat's next reply is claimable by another replica at once, not after the lease."""
    rt = build_runtime(Settings(database={"url": database_url}), FakeFaq(), clock=lambda: NOW)
    telegram = SlowPlugin(Channel.TELEGRAM, SlowSender())
    rt.add_channel(telegram)  # type: ignore[arg-type]
    engine = build_engine(database_url)
    other_replica = build_sessions(engine)
    try:
        stopped = asyncio.Event()

        async def serve() -> None:
            async with running(rt, grace_s=5):
                rec = await rt.store.record_incoming(
                    IncomingMessage(Channel.TELEGRAM, "42", "e1", "Вопрос"), NOW)
                assert rec is not None
                await rt.store.enqueue(rec.conversation, rec.client,
                                       [Reply("Один"), Reply("Два")], Author.BOT, NOW)
                await stopped.wait()

        task = asyncio.create_task(serve())
        for _ in range(400):
            if telegram.sender.started:
                break
            await asyncio.sleep(0.01)
        stopped.set()  # the stop begins with "Один" on its way
        await asyncio.sleep(0.05)
        telegram.sender.go.set()
        await asyncio.wait_for(task, 5)
        assert telegram.sender.started == ["Один"]
        claimed = await SqlDeliveryQueue(other_replica).claim_due(NOW, 10)
        assert [(d.reply.text, d.attempts) for d in claimed] == [("Два", 1)]
        async with other_replica() as s:
            rows = (await s.execute(select(OutboxItem.status, OutboxItem.attempts)
                                    .order_by(OutboxItem.id))).all()
        assert [tuple(r) for r in rows] == [("sent", 1), ("pending", 1)]
    finally:
        await engine.dispose()
