"""Delivery errors the outbox records are shown to specialists as reasons, not English."""

from __future__ import annotations

import pytest

from bots.delivery_errors import reason_of
from handlers.texts import JinjaTexts


@pytest.mark.parametrize(("error", "reason"), [
    ("file f.pdf: download failed: HTTP 404 Not Found", "file"),
    ("gave up after 12 attempts: file photo: TelegramNetworkError: timeout", "file"),
    ("files of channel telegram cannot be fetched (channel not enabled)", "file"),
    ("VK error 901: Can't send messages for users without permission", "blocked"),
    ("VK error 902: Can't send messages to this user due to their privacy settings", "blocked"),
    ("Forbidden: bot was blocked by the user", "blocked"),
    ("gave up after 12 attempts: ClientConnectorError: Cannot connect to host api.vk.com",
     "network"),
    ("gave up after 12 attempts: VK error 10: Internal server error", "network"),
    ("channel vk is not enabled", "channel_off"),
    ("Bad Request: message is too long", "too_long"),
    ("Bad Request: chat not found", "refused"),
])
def test_reasons(error: str, reason: str) -> None:
    assert reason_of(error) == reason


@pytest.mark.parametrize("reason", ["file", "blocked", "network", "channel_off", "too_long",
                                    "refused"])
@pytest.mark.parametrize("channel", ["vk", "web", ""])
def test_every_reason_reads_in_russian(reason: str, channel: str) -> None:
    text = JinjaTexts().render("staff_delivery_failed", reason=reason, channel=channel)
    assert text.startswith("⚠️ Сообщение не доставлено клиенту.\n")
    assert not any("a" <= ch.lower() <= "z" for ch in text)


def test_the_client_s_channel_is_named() -> None:
    texts = JinjaTexts()
    assert "Нет связи с ВКонтакте:" in texts.render(
        "staff_delivery_failed", reason="network", channel="vk")
    assert "запретил сообщения от сообщества ВКонтакте" in texts.render(
        "staff_delivery_failed", reason="blocked", channel="vk")
    assert "заблокировал бота" in texts.render(
        "staff_delivery_failed", reason="blocked", channel="telegram")
