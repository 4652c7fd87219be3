"""Builds the enabled channel adapters; each is imported only when switched on."""

from __future__ import annotations

from bots.plugin import ChannelContext, ChannelPlugin
from bots.telegram.config import TelegramConfig  # plain dataclass: no aiogram import
from priemnaya.settings import Settings, SettingsError, TelegramSettings


def build_channels(settings: Settings, ctx: ChannelContext) -> list[ChannelPlugin]:
    # Imports are local: aiogram alone costs about 3 s and 170 MB at start-up
    # (shared/STACK.md), which a deployment without Telegram should not pay.
    plugins: list[ChannelPlugin] = []
    if settings.telegram.enabled:
        from bots.telegram.plugin import build_telegram

        try:
            plugins.append(build_telegram(to_telegram_config(settings.telegram), ctx,
                                          settings.institution.timezone))
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    if settings.vk.enabled:
        from bots.vk.plugin import build_vk

        plugins.append(build_vk(settings.vk, ctx))
    return plugins


def to_telegram_config(s: TelegramSettings) -> TelegramConfig:
    return TelegramConfig(
        token=s.token.get_secret_value(), mode=s.mode, api_server=s.api_server,
        webhook_url=s.webhook_url, webhook_path=s.webhook_path,
        webhook_secret=s.webhook_secret.get_secret_value(),
        specialists_chat_id=s.specialists_chat_id, specialist_ids=frozenset(s.specialist_ids))
