"""The VK channel plugin: Long Poll or Callback in, messages.send out."""

from __future__ import annotations

import json

from aiohttp import web

from bots.plugin import ChannelContext
from bots.vk.api import build_api, close_api
from bots.vk.callback import CallbackEndpoint
from bots.vk.catchup import CatchUp
from bots.vk.config import VkConfig
from bots.vk.events import VkEvents
from bots.vk.longpoll import LongPoll
from bots.vk.sender import VkSender
from handlers.delivery_ports import ChannelSender
from handlers.event_ports import Notifier
from handlers.model import Channel
from handlers.platform_ports import FileSource


class VkPlugin:
    channel: str = Channel.VK
    sender: ChannelSender | None
    # VK keeps a client's files at its own URLs: the desk's audited file route sends the
    # browser there (bots/web/desk/views.py attachment); nothing is fetched from VK.
    files: FileSource | None = None

    def __init__(self, config: VkConfig, ctx: ChannelContext) -> None:
        self._config, self._ctx = config, ctx
        self._api = build_api(config)
        self.sender = VkSender(self._api, ctx.files)
        self.events = VkEvents(ctx, self._api)
        self._callback = CallbackEndpoint(self.events, config.confirmation, config.secret,
                                          config.group_id)

    @property
    def notifier(self) -> Notifier | None:
        return None  # specialists see VK conversations on the desk and in Telegram

    async def replay(self, raw: str) -> None:
        await self.events.process(json.loads(raw))

    def setup_routes(self, app: web.Application) -> None:
        if self._config.mode == "callback":
            app.router.add_post(self._config.callback_path, self._callback.handle)

    async def run(self) -> None:
        if self._config.mode == "longpoll":
            config, ctx = self._config, self._ctx
            catch_up = CatchUp(self._api, self.events, ctx.store, ctx.clock, config.group_id,
                               config.catch_up)
            await LongPoll(self._api, self.events, config.group_id, config.wait_s,
                           catch_up.run).run()

    async def close(self) -> None:
        await self._callback.drain()
        await close_api(self._api)


def build_vk(config: VkConfig, ctx: ChannelContext) -> VkPlugin:
    return VkPlugin(config, ctx)
