"""Bots Long Poll: our own loop, so each update's raw JSON is kept before vkbottle reads it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientTimeout
from vkbottle import API

from bots.vk.events import VkEvents
from bots.vk.parse import MalformedEvent, parse_envelope
from handlers.secrets import redact

log = logging.getLogger(__name__)

MAX_PAUSE_S = 60.0


async def _nothing_missed() -> None:
    return None


class LongPoll:
    def __init__(self, api: API, events: VkEvents, group_id: int, wait_s: int,
                 catch_up: Callable[[], Awaitable[None]] = _nothing_missed) -> None:
        self._api, self._events = api, events
        self._group_id, self._wait = group_id, wait_s
        self._catch_up = catch_up
        self._behind = True  # VK delivers nothing from before the first ts: catch up first

    async def run(self) -> None:
        """Polls until cancelled; network and VK failures pause and try again."""
        server: dict[str, Any] | None = None
        failures = 0
        while True:
            try:
                server = server or await self._server()
                if self._behind:
                    # After the new ts is taken: what arrives meanwhile comes by long poll
                    # as well, and the two are told apart by message (parse.message_key).
                    self._behind = False
                    await self._catch_up()
                server = await self._poll(server)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                pause = min(2.0 ** failures / 4, MAX_PAUSE_S)
                log.warning("VK long poll failed (%s: %s); again in %.1f s",
                            type(exc).__name__, exc, pause)
                await asyncio.sleep(pause)

    async def _server(self) -> dict[str, Any]:
        found = await self._api.groups.get_long_poll_server(group_id=self._group_id)
        return {"server": found.server, "key": found.key, "ts": found.ts}

    async def _poll(self, server: dict[str, Any]) -> dict[str, Any]:
        """One a_check request; returns the server state for the next one."""
        text = await self._api.http_client.request_text(
            server["server"], method="GET",
            params={"act": "a_check", "key": server["key"], "ts": server["ts"],
                    "wait": self._wait},
            timeout=ClientTimeout(total=self._wait + 10))
        body = json.loads(text)
        if not isinstance(body, dict):
            raise ValueError(f"long poll answered {type(body).__name__}, not an object")
        # https://dev.vk.com/ru/api/bots-long-poll/getting-started: failed 1 = history is
        # partly lost, go on with the new ts; 2 = the key expired; 3 = key and ts are lost.
        match body.get("failed"):
            case None:
                pass
            case 1:
                self._behind = True
                return {**server, "ts": body.get("ts", server["ts"])}
            case 2:  # the old ts still holds: nothing is lost
                return {**await self._server(), "ts": server["ts"]}
            case _:
                log.warning("VK long poll lost its history (failed=%s)", body.get("failed"))
                self._behind = True
                return await self._server()
        updates = body.get("updates")
        for update in updates if isinstance(updates, list) else []:
            await self.handle(update)
        return {**server, "ts": body.get("ts", server["ts"])}

    async def handle(self, update: object) -> None:
        # Updates are handled in order, one at a time: a client's messages stay in sequence.
        try:
            event = parse_envelope(update)
        except MalformedEvent as exc:
            log.warning("VK long poll update skipped: %s: %.300r", exc, redact(str(update)))
            return
        if await self._events.keep(event, json.dumps(update, ensure_ascii=False)):
            await self._events.process(event)
