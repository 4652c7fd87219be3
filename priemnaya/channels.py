"""Builds the enabled channel adapters; each is imported only when switched on."""

from __future__ import annotations

from bots.plugin import ChannelContext, ChannelPlugin
from priemnaya.settings import Settings


def build_channels(settings: Settings, ctx: ChannelContext) -> list[ChannelPlugin]:
    # Imports are local: aiogram alone costs about 3 s and 170 MB at start-up
    # (shared/STACK.md), which a deployment without Telegram should not pay.
    plugins: list[ChannelPlugin] = []
    if settings.telegram.enabled:
        from bots.telegram.plugin import build_telegram

        plugins.append(build_telegram(settings.telegram, ctx))
    if settings.vk.enabled:
        from bots.vk.plugin import build_vk

        plugins.append(build_vk(settings.vk, ctx))
    return plugins
