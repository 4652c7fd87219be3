"""Every update, from the webhook or from polling: keep the raw JSON, dedupe, then route.

The caller is answered once the raw update is kept: Telegram waits for the webhook's answer
before it sends the next updates, and a kept update is processed even after a crash (the
replay job, priemnaya/runtime.py). Processing runs in the background, in order per chat.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError
from pydantic import ValidationError

from bots.telegram.convert import chat_of, client_message_of, to_incoming, update_kind
from handlers.platform_ports import InboundLog
from handlers.reception import Reception
from handlers.secrets import error_text
from storage.transient import failure_status, retry_transient

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# Updates kept but not yet processed, at most; beyond it the webhook waits with its answer.
MAX_IN_FLIGHT = 256


def key_of(raw: object, body: str) -> str:
    """update_id when there is one; otherwise the body's hash (a retry still dedupes)."""
    update_id = raw.get("update_id") if isinstance(raw, Mapping) else None
    if isinstance(update_id, int) and not isinstance(update_id, bool):
        return str(update_id)
    return "body:" + hashlib.sha256(body.encode()).hexdigest()[:32]


class UpdateIntake:
    def __init__(self, bot: Bot, dp: Dispatcher, inbound: InboundLog, reception: Reception,
                 clock: Callable[[], datetime], max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self._bot, self._dp, self._inbound = bot, dp, inbound
        self._max_in_flight = max_in_flight
        self._reception, self._clock = reception, clock
        self._running: set[asyncio.Task[None]] = set()
        self._last_of_chat: dict[str, asyncio.Task[None]] = {}

    async def accept_body(self, body: str) -> bool:
        """One webhook body; False when it was a re-delivery (or unreadable)."""
        try:
            raw: object = json.loads(body)
        except (ValueError, RecursionError):  # kept, and skipped as not a JSON object
            raw = None
        return await self.accept(raw, body)

    async def accept(self, raw: object, body: str) -> bool:
        key = key_of(raw, body)
        kind = update_kind(raw) if isinstance(raw, Mapping) else "malformed"
        if not await self._inbound.keep(CHANNEL, key, kind, body, self._clock()):
            log.info("telegram update %s was already received: skipped", key)
            return False
        if not isinstance(raw, Mapping):
            log.warning("telegram update %s is not a JSON object: kept, skipped", key)
            await self._inbound.mark(CHANNEL, key, "skipped", "not a JSON object")
            return True
        self._process_later(raw, key)
        while len(self._running) > self._max_in_flight:
            # Back-pressure: Telegram sends more only as fast as these are answered.
            await asyncio.wait(list(self._running), return_when=asyncio.FIRST_COMPLETED)
        return True

    async def drain(self) -> None:
        """Waits until every accepted update is processed (shutdown, tests)."""
        while self._running:
            await asyncio.wait(list(self._running))
        await self._inbound.flush()

    def _process_later(self, raw: Mapping[str, Any], key: str) -> None:
        chat = chat_of(raw)
        before = self._last_of_chat.get(chat) if chat else None
        task = asyncio.create_task(self._process(raw, key, before))
        self._running.add(task)
        if chat:
            self._last_of_chat[chat] = task
        task.add_done_callback(lambda done: self._forget(chat, done))

    def _forget(self, chat: str, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._last_of_chat.get(chat) is task:
            del self._last_of_chat[chat]

    async def _process(self, raw: Mapping[str, Any], key: str,
                       before: asyncio.Task[None] | None) -> None:
        if before is not None:
            await asyncio.wait([before])  # a chat's updates are answered in their order
        try:
            status, error = await self._route(raw)
            await self._inbound.mark(CHANNEL, key, status, error)
        except Exception:  # left "received": the replay job takes it up again
            log.exception("telegram update %s could not be finished", key)

    async def replay(self, body: str) -> None:
        """Finish an update that was kept but never processed (the process stopped)."""
        raw = json.loads(body)
        status, error = await self._route(raw)
        await self._inbound.mark(CHANNEL, key_of(raw, body), status, error)

    async def _route(self, raw: Mapping[str, Any]) -> tuple[str, str]:
        """The update's processing status and error: a handler that fails is recorded."""
        try:
            return await retry_transient(lambda: self._handle(raw),
                                         f"telegram update {raw.get('update_id')}")
        except Exception as exc:
            log.exception("telegram update %s failed", raw.get("update_id"))
            return failure_status(exc), error_text(exc)

    async def _handle(self, raw: Mapping[str, Any]) -> tuple[str, str]:
        if (found := client_message_of(raw)) is not None:
            # A client's private message needs none of aiogram's models: it is read from the
            # raw JSON by the converter that serves every shape, those aiogram rejects too.
            # Skipping the parse and the dispatch saves about 60 us per message (0.06 ms of
            # the 1.5 ms an update costs, docs/benchmarks.md).
            await self._reception.handle(to_incoming(*found))
            return "processed", ""
        try:
            update = Update.model_validate(raw, context={"bot": self._bot})
        except ValidationError as exc:
            return self._rejected(raw, exc)
        try:
            update.event_type  # noqa: B018 - raises for kinds newer than this aiogram
        except UpdateTypeLookupError:
            log.info("telegram update %s of unknown kind %s: kept, skipped",
                     raw.get("update_id"), update_kind(raw))
            return "skipped", f"unknown update kind {update_kind(raw)}"
        result = await self._dp.feed_update(self._bot, update, raw_update=raw)
        return ("skipped", "") if result is UNHANDLED else ("processed", "")

    @staticmethod
    def _rejected(raw: Mapping[str, Any], exc: ValidationError) -> tuple[str, str]:
        """aiogram cannot parse an old or odd shape; a client's message never gets here."""
        reason = f"aiogram rejected: {exc.error_count()} errors: {exc.errors()[0]['loc']}"
        log.warning("telegram update %s: %s", raw.get("update_id"), reason)
        return "skipped", reason
