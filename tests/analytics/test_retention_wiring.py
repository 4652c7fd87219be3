"""The composition root runs the retention job in the background with the other workers."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from priemnaya.analytics_setup import add_retention
from priemnaya.runtime import build_runtime, running
from priemnaya.settings import Settings
from storage.models import Message
from tests.analytics.generator import AS_OF, write_log
from tests.fakes import Clock, FakeFaq


async def test_background_retention_erases_old_texts_and_keeps_lengths(database_url) -> None:
    settings = Settings(database={"url": database_url}, retention={"raw_text_days": 1})
    rt = build_runtime(settings, FakeFaq(), clock=Clock(AS_OF))
    await write_log(rt.sessions)
    before = len(rt.background)
    add_retention(rt)
    assert len(rt.background) == before + 1

    async def redacted() -> int:
        async with rt.sessions() as s:
            return int(await s.scalar(select(func.count()).where(
                Message.redacted_at.is_not(None))) or 0)

    async with running(rt):
        for _ in range(200):
            if await redacted():
                break
            await asyncio.sleep(0.02)
    # running() disposed of the engine at its end; a new session reopens the pool.
    async with rt.sessions() as s:
        left = (await s.execute(select(Message.text, Message.text_length)
                                .where(Message.redacted_at.is_not(None)))).all()
    await rt.engine.dispose()
    assert left and all(text == "" for text, _ in left)
    assert any(length > 0 for _, length in left)  # the lengths, kept for the metrics
