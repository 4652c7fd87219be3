"""Builds the enabled channel adapters; each is imported only when switched on."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bots.plugin import ChannelContext, ChannelPlugin
from bots.telegram.config import TelegramConfig, check_telegram  # no aiogram import
from handlers.secrets import add_secret
from priemnaya.settings import Settings, SettingsError
from priemnaya.settings_sections import TelegramSettings, VkSettings

if TYPE_CHECKING:
    from bots.vk.config import VkConfig


def build_channels(settings: Settings, ctx: ChannelContext) -> list[ChannelPlugin]:
    # Imports are local: aiogram alone costs about 3 s and 170 MB at start-up
    # (shared/STACK.md), which a deployment without Telegram should not pay.
    plugins: list[ChannelPlugin] = []
    # Error texts that quote a token (an API URL, say) are stored and logged without it.
    for secret in (settings.telegram.token, settings.vk.token, settings.vk.secret,
                   settings.telegram.webhook_secret):
        add_secret(secret.get_secret_value())
    if settings.telegram.enabled:
        from bots.telegram.plugin import build_telegram

        try:
            plugins.append(build_telegram(
                to_telegram_config(settings.telegram, settings.web.public_url), ctx,
                settings.institution.timezone))
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    if settings.vk.enabled:
        from bots.vk.plugin import build_vk

        plugins.append(build_vk(to_vk_config(settings.vk), ctx))
    return plugins


def check_channels(settings: Settings) -> None:
    """What build_channels would refuse, without building an adapter: `priemnaya settings`
    stops on it as `run` does, with the same line."""
    if settings.telegram.enabled:
        try:
            check_telegram(to_telegram_config(settings.telegram))
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
    if settings.vk.enabled:
        to_vk_config(settings.vk)


def to_vk_config(vk: VkSettings) -> VkConfig:
    from bots.vk.config import CatchUpConfig, VkConfig

    if not vk.token.get_secret_value():
        raise SettingsError("vk.token is empty: set PRIEMNAYA_VK__TOKEN in the environment")
    if vk.group_id is None:
        # Long Poll, catch-up and the Callback check need it before the first call to VK.
        raise SettingsError("vk.group_id is required when vk.enabled is true: the community's "
                            "number, as in its address vk.com/club123456789")
    if vk.mode == "callback" and not vk.confirmation:
        raise SettingsError("vk.confirmation is required in callback mode: copy the string "
                            "from the community's Callback API settings")
    return VkConfig(token=vk.token.get_secret_value(), group_id=vk.group_id, mode=vk.mode,
                    callback_path=vk.callback_path, confirmation=vk.confirmation,
                    secret=vk.secret.get_secret_value(), api_url=vk.api_url,
                    catch_up=CatchUpConfig(
                        conversations=vk.catch_up.conversations, messages=vk.catch_up.messages,
                        answer_within=timedelta(hours=vk.catch_up.answer_within_hours)))


def to_telegram_config(s: TelegramSettings, public_url: str = "") -> TelegramConfig:
    return TelegramConfig(
        token=s.token.get_secret_value(), mode=s.mode, api_server=s.api_server,
        webhook_url=s.webhook_url, webhook_path=s.webhook_path,
        webhook_secret=s.webhook_secret.get_secret_value(),
        specialists_chat_id=s.specialists_chat_id, specialist_ids=frozenset(s.specialist_ids),
        staff_full_texts=s.staff_full_texts, desk_url=public_url)
