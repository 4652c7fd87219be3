"""`priemnaya run` as deployed, polling a fake Bot API: a client that only speaks the Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from tests.bots.telegram.fake_bot_api import FakeBotApi
from tests.bots.telegram.harness import CLIENT, STAFF_CHAT, TOKEN, Harness, wait_for

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_priemnaya_run_with_telegram_polling(tmp_path: Path, api: FakeBotApi) -> None:
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        f"database:\n  url: sqlite+aiosqlite:///{tmp_path / 'p.db'}\n"
        f"web:\n  port: {free_port()}\n"
        f"outbox:\n  poll_interval_s: 0.2\n"
        f"telegram:\n  enabled: true\n  mode: polling\n  api_server: {api.url}\n"
        f"  specialists_chat_id: {STAFF_CHAT}\n", encoding="utf-8")
    env = {**os.environ, "PRIEMNAYA_TELEGRAM__TOKEN": TOKEN}
    (tmp_path / "none.yaml").write_text("", encoding="utf-8")  # not the checkout's secrets
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "priemnaya", "run", "--settings", str(settings),
        "--secrets", str(tmp_path / "none.yaml"), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    h = Harness(api)
    try:
        await wait_for(lambda: api.attempts("getUpdates"), seconds=60)
        api.push_update(h.private("/start"))
        [greeting] = await wait_for(lambda: api.sent(chat_id=CLIENT), seconds=20)
        assert "согласие" in greeting["text"]
        api.push_update(h.button("consent:specialist"))
        await wait_for(lambda: api.sent("createForumTopic"), seconds=20)
        [opening] = await wait_for(lambda: api.sent(chat_id=STAFF_CHAT), seconds=20)
        api.push_update(h.staff("Добрый день, я специалист.",
                                topic=int(opening["message_thread_id"])))
        await wait_for(lambda: api.sent(chat_id=CLIENT, text="Добрый день, я специалист."),
                       seconds=20)
        await asyncio.sleep(0.5)  # room for any duplicate to show up
        assert len(api.sent(chat_id=CLIENT)) == 3  # greeting, "passed on", the reply
        assert len(api.sent("createForumTopic")) == 1
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert b"Traceback" not in err, err.decode()[-2000:]
