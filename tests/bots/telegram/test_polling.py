"""Polling mode: our own getUpdates loop against the fake Bot API."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from priemnaya.webapp import build_app
from storage.models import InboundEvent, Message
from tests.bots.telegram.conftest import build_service
from tests.bots.telegram.fake_bot_api import Failure, FakeBotApi
from tests.bots.telegram.harness import CLIENT, Harness, telegram_settings, wait_for

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"


async def test_polling_answers_keeps_raw_and_moves_the_offset(database_url: str,
                                                              api: FakeBotApi) -> None:
    rt = build_service(database_url, telegram_settings(api.url, mode="polling"))
    h = Harness(api)
    api.fail(Failure("deleteWebhook", 500, "Internal Server Error"))
    api.fail(Failure("getUpdates", 502, "Bad Gateway"))
    async with TestClient(TestServer(build_app(rt))) as http:
        api.push_update(h.private("Как оформить единое пособие?"))
        legacy = json.loads((FIXTURES / "legacy_2018_voice_without_file_unique_id.json")
                            .read_text(encoding="utf-8"))
        api.push_update(legacy)
        [answer] = await wait_for(lambda: api.sent(chat_id=CLIENT), seconds=10)
        assert answer["text"].startswith("Единое пособие")
        await wait_for(lambda: api.sent(chat_id=100000010))
        # The next long poll confirms the highest update_id seen (recorded when it returns).
        await wait_for(lambda: api.attempts("getUpdates", offset=600000002))
        assert [c.ok for c in api.attempts("deleteWebhook")] == [False, True]
        assert (await http.post("/telegram/webhook", data="{}")).status == 404
        async with rt.sessions() as s:
            kept = (await s.scalars(select(InboundEvent).order_by(InboundEvent.id))).all()
            stored = (await s.scalars(select(Message).where(Message.author == "client"))).all()
    assert [e.kind for e in kept] == ["message", "message"]
    assert json.loads(kept[1].raw) == legacy
    assert len(stored) == 2
