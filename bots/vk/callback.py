"""The Callback API endpoint: VK posts each event here and waits for "ok"."""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Any

from aiohttp import web

from bots.json_body import UnreadableBody, read_json_body
from bots.vk.events import VkEvents
from bots.vk.parse import MalformedEvent, event_key, parse_envelope
from handlers.secrets import redact

log = logging.getLogger(__name__)
# inbound_events.dedupe_key holds 200 characters with the channel's prefix; VK's are 40.
MAX_KEY = 190


class CallbackEndpoint:
    """Keeps the raw body, answers at once and handles the event in the background.

    VK resends an event that was not answered "ok" within a few seconds, so the answer must
    not wait for the FAQ or the database round trips of the conversation core.
    """

    def __init__(self, events: VkEvents, confirmation: str, secret: str,
                 group_id: int) -> None:
        self._events, self._confirmation, self._secret = events, confirmation, secret
        self._group_id = group_id
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.Response:
        try:
            body, raw = await read_json_body(request)
        except UnreadableBody as exc:
            log.warning("VK callback refused: %s", exc)
            return web.Response(status=400, text=f"bad request: {exc}")
        try:
            event = parse_envelope(body)
            if len(event_key(event)) > MAX_KEY:
                raise MalformedEvent(f"event_id longer than {MAX_KEY} characters")
        except (ValueError, MalformedEvent) as exc:
            # The body carries the community's secret (in a truncated one too): never quoted.
            log.warning("VK callback refused: %s: %.300r", exc, redact(raw))
            return web.Response(status=400, text=f"bad request: {redact(str(exc))}")
        refused = self._refuse(event)
        if refused is not None:
            return refused
        if event["type"] == "confirmation":
            return web.Response(text=self._confirmation)
        if await self._events.keep(event, raw):
            self._spawn(event)
        return web.Response(text="ok")

    def _refuse(self, event: dict[str, Any]) -> web.Response | None:
        if self._secret and not hmac.compare_digest(
                str(event.get("secret", "")).encode(), self._secret.encode()):
            log.warning("VK callback with a wrong secret (type %s)", event["type"])
            return web.Response(status=403, text="wrong secret")
        if event.get("group_id", self._group_id) != self._group_id:
            log.warning("VK callback for community %s, not ours", event.get("group_id"))
            return web.Response(status=403, text="wrong community")
        if event["type"] == "confirmation" and not self._confirmation:
            log.error("VK asks for confirmation, but vk.confirmation is not set")
            return web.Response(status=500, text="vk.confirmation is not set")
        return None

    def _spawn(self, event: dict[str, Any]) -> None:
        task = asyncio.create_task(self._events.process(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Lets events already answered "ok" finish: VK will not send them again."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)
