"""Raw events kept but never processed (the process stopped) are finished after a restart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bots.telegram.plugin import build_telegram
from bots.vk.config import VkConfig
from bots.vk.plugin import build_vk
from priemnaya.channels import to_telegram_config
from priemnaya.runtime import Runtime, build_runtime, replay_unfinished
from priemnaya.settings import Settings
from storage.models import InboundEvent, Message
from tests.fakes import FakeFaq

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LONG_AGO = datetime.now(UTC) - timedelta(minutes=10)


def runtime(database_url: str) -> Runtime:
    settings = Settings(database={"url": database_url}, telegram={
        "enabled": True, "token": "123456:TEST-token", "mode": "webhook",
        "api_server": "http://127.0.0.1:9", "webhook_secret": "s",
        "webhook_url": "https://bot.example.org/telegram/webhook"})
    rt = build_runtime(settings, FakeFaq())
    rt.add_channel(build_telegram(to_telegram_config(settings.telegram), rt.context))
    rt.add_channel(build_vk(VkConfig(token="t", group_id=200000001, mode="callback",
                                     confirmation="c", secret="example_callback_secret",
                                     api_url="http://127.0.0.1:9/method/"), rt.context))
    return rt


async def test_unfinished_events_of_both_channels_are_processed_once(database_url: str) -> None:
    rt = runtime(database_url)
    try:
        tg = (FIXTURES / "telegram" / "private_text.json").read_text(encoding="utf-8")
        vk = (FIXTURES / "vk" / "message_new_text.json").read_text(encoding="utf-8")
        inbound = rt.context.inbound
        assert await inbound.keep("telegram", str(json.loads(tg)["update_id"]), "message", tg,
                                  LONG_AGO)
        assert await inbound.keep("vk", json.loads(vk)["event_id"], "message_new", vk, LONG_AGO)
        # Kept just now: maybe still being processed by a live request, so left alone.
        assert await inbound.keep("vk", "fresh", "message_new", vk, datetime.now(UTC))

        assert await replay_unfinished(rt) == 2
        async with rt.sessions() as s:
            clients = (await s.scalars(select(Message.channel).where(
                Message.author == "client").order_by(Message.id))).all()
            replies = (await s.scalars(select(Message.channel).where(
                Message.author == "bot"))).all()
            statuses = dict((await s.execute(select(
                InboundEvent.dedupe_key, InboundEvent.status))).all())
        assert sorted(clients) == ["telegram", "vk"]
        assert sorted(replies) == ["telegram", "vk"]
        assert statuses["vk:fresh"] == "received"
        assert sorted(v for k, v in statuses.items() if k != "vk:fresh") == ["processed",
                                                                           "processed"]
        assert await replay_unfinished(rt) == 0
    finally:
        for channel in rt.channels:
            await channel.close()
        await rt.engine.dispose()
