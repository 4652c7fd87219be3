"""Fixtures: a fake Bot API and the service wired to it in webhook mode."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bots.telegram.plugin import TelegramPlugin
from priemnaya.channels import to_telegram_config
from priemnaya.runtime import Runtime, build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from tests.bots.telegram.fake_bot_api import FakeBotApi
from tests.bots.telegram.harness import Harness, telegram_settings
from tests.fakes import FakeFaq


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    fake = FakeBotApi()
    await fake.start()
    yield fake
    await fake.stop()


def build_service(database_url: str, telegram: dict[str, object],
                  public_url: str = "") -> Runtime:
    from bots.telegram.plugin import build_telegram

    settings = Settings(database={"url": database_url}, outbox={"poll_interval_s": 0.05},
                        telegram=telegram, web={"public_url": public_url})
    rt = build_runtime(settings, FakeFaq())
    rt.add_channel(build_telegram(to_telegram_config(settings.telegram, public_url),
                                  rt.context))
    return rt


def telegram_plugin(rt: Runtime) -> TelegramPlugin:
    return next(ch for ch in rt.channels if isinstance(ch, TelegramPlugin))


@pytest.fixture
async def service(database_url: str, api: FakeBotApi) -> AsyncIterator[tuple[Harness, Runtime]]:
    rt = build_service(database_url, telegram_settings(api.url))
    harness = Harness(api)
    harness.settle = telegram_plugin(rt).intake.drain
    async with TestClient(TestServer(build_app(rt))) as http:
        harness.http = http
        yield harness, rt
