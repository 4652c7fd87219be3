"""`priemnaya run` in a subprocess, its settings file pointing VK at a fake API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from storage.engine import build_engine, build_sessions
from storage.models import Conversation
from tests.bots.vk.conftest import SECRET, until
from tests.bots.vk.fake_vk import FakeVk, message_event, message_new, message_reply
from tests.bots.vk.test_e2e import free_port, write_settings

ROOT = Path(__file__).resolve().parents[3]
USER = 100000001

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("priemnaya.faq_setup", "faq.cli")),
    reason="priemnaya run needs the FAQ engine (priemnaya.faq_setup, faq.cli)")


async def start(settings_file: Path, port: int) -> asyncio.subprocess.Process:
    env = {**os.environ, "PRIEMNAYA_VK__TOKEN": "test-token", "PRIEMNAYA_VK__SECRET": SECRET}
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "priemnaya"), "run", "--settings", str(settings_file),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if proc.returncode is not None:
                break
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return proc
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    if proc.returncode is None:
        proc.kill()
    out = await proc.stdout.read() if proc.stdout else b""
    raise AssertionError(f"priemnaya run did not start: {out.decode()[-2000:]}")


async def state_is(database_url: str, expected: str) -> bool:
    engine = build_engine(database_url)
    try:
        async with build_sessions(engine)() as s:
            conv = await s.scalar(select(Conversation).order_by(Conversation.id.desc()))
        return conv is not None and conv.state == expected
    finally:
        await engine.dispose()


@pytest.mark.parametrize("mode", ["longpoll", "callback"])
async def test_priemnaya_run_answers_escalates_and_stays_silent(
        database_url: str, fake: FakeVk, tmp_path: Path, mode: str) -> None:
    port = free_port()
    settings_file = write_settings(tmp_path / "settings.yaml", database_url, fake, mode, port)
    proc = await start(settings_file, port)
    try:
        async with aiohttp.ClientSession() as http:
            async def deliver(body: dict[str, object]) -> None:
                if mode == "longpoll":
                    fake.push(body)
                    return
                async with http.post(f"http://127.0.0.1:{port}/vk/events",
                                     json={**body, "secret": SECRET}) as r:
                    assert (r.status, await r.text()) == (200, "ok")

            if mode == "longpoll":
                await until(lambda: fake.method_calls("a_check"))
            start_press = message_new(USER, "Начать", 1, {"command": "start"})
            await deliver(start_press)
            await until(lambda: len(fake.delivered) == 1)
            assert fake.delivered[0]["keyboard"]
            await deliver(start_press)  # delivered again by VK
            await deliver(message_event(USER, {"a": "consent:specialist"}, 2))
            await until(lambda: len(fake.delivered) == 2)
            await until(lambda: state_is(database_url, "waiting_specialist"))
            await deliver(message_reply(USER, "Здравствуйте, это Мария.", 3, admin=100000009))
            await until(lambda: state_is(database_url, "with_specialist"))
            await deliver(message_new(USER, "Спасибо, жду", 4))
            await asyncio.sleep(0.5)  # time in which a wrong answer would have gone out
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
    assert proc.returncode == 0
    sends = fake.method_calls("messages.send")
    assert len(sends) == 2
    assert max(Counter((c.params["peer_id"], c.params["random_id"]) for c in sends).values()) == 1

