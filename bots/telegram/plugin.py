"""build_telegram: the Telegram channel plugin (client bot, staff topics, webhook/polling)."""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
from zoneinfo import ZoneInfo

from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError
from aiogram.methods.base import Response
from aiogram.types import File, ForumTopic, Message
from aiohttp import web

from bots.json_body import NotJson, UnreadableBody, read_json_body
from bots.notify import FanoutNotifier
from bots.plugin import ChannelContext
from bots.telegram.callbacks import CallbackCodec
from bots.telegram.cleanup import StaffCleanup
from bots.telegram.client import build_client_router
from bots.telegram.config import ALLOWED_UPDATES, TelegramConfig, check_telegram
from bots.telegram.files import TelegramFiles
from bots.telegram.intake import UpdateIntake
from bots.telegram.notifier import TelegramNotifier
from bots.telegram.polling import Poller
from bots.telegram.privacy import StaffPrivacy
from bots.telegram.sender import TelegramSender
from bots.telegram.session import JsonAiohttpSession, dumps
from bots.telegram.staff import build_staff_router
from handlers.delivery_ports import ChannelSender
from handlers.event_ports import Notifier
from handlers.platform_ports import FileSource
from handlers.secrets import add_secret, redact

log = logging.getLogger(__name__)

# aiogram parses every Bot API answer with Response[T]; pydantic keeps parametrised models in
# a WeakValueDictionary, so a garbage-collected one is rebuilt, ~10 ms of schema generation on
# the event loop each time. The models of the answers this adapter gets are held here.
RESPONSE_MODELS = (Response[Message], Response[bool], Response[ForumTopic], Response[File])

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SET_WEBHOOK_ATTEMPTS = 5
MAX_RETRY_WAIT_S = 60
DRAIN_S = 10.0  # at shutdown, for the updates already accepted


class TelegramPlugin:
    channel = "telegram"

    def __init__(self, config: TelegramConfig, ctx: ChannelContext, timezone: str) -> None:
        self._config = config
        add_secret(config.token)  # kept out of error texts (handlers/secrets.py)
        self._api = TelegramAPIServer.from_base(config.api_server)
        self.bot = Bot(config.token, session=JsonAiohttpSession(api=self._api, json_dumps=dumps))
        codec = CallbackCodec(ctx.faq)
        self.sender: ChannelSender | None = TelegramSender(self.bot, codec, ctx.files)
        self.files: FileSource | None = TelegramFiles(self.bot)
        self._notifier = None if config.specialists_chat_id is None else TelegramNotifier(
            self.bot, config.specialists_chat_id, ctx.store, ctx.threads, ctx.texts, ctx.faq,
            ZoneInfo(timezone), ctx.queue_titles,
            StaffPrivacy(config.staff_full_texts, config.desk_url), ctx.posts, ctx.clock,
            ctx.backlog, staff=ctx.staff)
        self.cleanup = None if config.specialists_chat_id is None or ctx.posts is None \
            else StaffCleanup(self.bot, config.specialists_chat_id, ctx.posts, ctx.clock)
        # Staff router first: its catch-all for groups must see group messages before anyone.
        # No aiogram FSM: a conversation's state lives in the database, shared by channels.
        self.dp = Dispatcher(disable_fsm=True, config=config, codec=codec, reception=ctx.reception,
                             desk=ctx.desk, threads=ctx.threads, staff=ctx.staff,
                             texts=ctx.texts, store=ctx.store, clock=ctx.clock,
                             queue_titles=ctx.queue_titles)
        self.dp.include_routers(build_staff_router(config.specialists_chat_id),
                                build_client_router())
        self.intake = UpdateIntake(self.bot, self.dp, ctx.inbound, ctx.reception, ctx.clock)

    @property
    def notifier(self) -> Notifier | None:
        if self._notifier is None or self.cleanup is None:
            return self._notifier
        return FanoutNotifier([self._notifier, self.cleanup])  # an erasure wakes the cleanup

    async def replay(self, raw: str) -> None:
        await self.intake.replay(raw)

    def setup_routes(self, app: web.Application) -> None:
        if self._config.mode == "webhook":
            app.router.add_post(self._config.webhook_path, self.on_webhook)

    async def on_webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self._config.webhook_secret.encode()):
            return web.json_response({"ok": False, "error": "wrong secret token"}, status=403)
        raw: object
        try:
            raw, body = await read_json_body(request)
        except NotJson as exc:
            raw, body = None, exc.text  # kept and marked skipped, as ever
        except UnreadableBody as exc:
            # Never from Telegram, which sends UTF-8 JSON: nothing to keep or to retry.
            log.warning("telegram webhook refused: %s", exc)
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        # Answered 200 even when processing failed: the raw update is kept and marked, and
        # a non-2xx answer would only make Telegram send it again and again.
        await self.intake.accept(raw, body)
        return web.json_response({"ok": True})

    async def run(self) -> None:
        jobs = [self._receive()]
        if self.cleanup is not None:
            jobs.append(self.cleanup.run())
        if self._notifier is not None:
            jobs.append(self._notifier.run())
        await asyncio.gather(*jobs)

    async def _receive(self) -> None:
        if self._config.mode == "webhook":
            await self._set_webhook()
            return
        await self._delete_webhook()
        url = self._api.api_url(self._config.token, "getUpdates")
        await Poller(url, self.intake, self._config.poll_timeout_s).run()

    async def _delete_webhook(self) -> None:
        """getUpdates is refused while a webhook is set; retried until Telegram answers."""
        for attempt in itertools.count(1):
            try:
                await self.bot.delete_webhook(drop_pending_updates=False)
                return
            except TelegramAPIError as exc:
                wait = min(2 ** attempt, MAX_RETRY_WAIT_S)
                log.warning("deleteWebhook failed (%s): retrying in %s s", redact(str(exc)), wait)
                await asyncio.sleep(wait)

    async def _set_webhook(self) -> None:
        for attempt in range(1, SET_WEBHOOK_ATTEMPTS + 1):
            try:
                await self.bot.set_webhook(
                    self._config.webhook_url, secret_token=self._config.webhook_secret,
                    allowed_updates=list(ALLOWED_UPDATES))
                log.info("telegram webhook set to %s", self._config.webhook_url)
                return
            except TelegramAPIError as exc:
                log.warning("setWebhook attempt %s failed: %s", attempt, redact(str(exc)))
                await asyncio.sleep(2 ** attempt)
        log.error("telegram webhook could not be set: updates will not arrive")

    async def close(self) -> None:
        try:
            async with asyncio.timeout(DRAIN_S):
                await self.intake.drain()
        except TimeoutError:  # still "received" in the log: replayed on the next start
            log.warning("telegram updates still in progress at shutdown were left for replay")
        if self._notifier is not None:
            await self._notifier.drain()
        await self.bot.session.close()


def build_telegram(config: TelegramConfig, ctx: ChannelContext,
                   timezone: str = "UTC") -> TelegramPlugin:
    check_telegram(config)
    return TelegramPlugin(config, ctx, timezone)
