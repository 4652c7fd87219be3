"""The composition root: an institution's own texts where the settings say, and channels
added once the runtime is built."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from handlers.model import Author, Channel, IncomingMessage, Reply
from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
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
