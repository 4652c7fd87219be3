"""A getUpdates loop of our own, so the raw JSON of each update is kept before parsing."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp

from bots.telegram.config import ALLOWED_UPDATES
from bots.telegram.intake import UpdateIntake
from handlers.secrets import redact

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


class PollingError(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class Poller:
    def __init__(self, url: str, intake: UpdateIntake, timeout_s: int) -> None:
        self._url, self._intake, self._timeout = url, intake, timeout_s
        self._offset: int | None = None

    async def run(self) -> None:
        delay = 1.0
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    updates = await self._fetch(http)
                except (aiohttp.ClientError, TimeoutError, PollingError) as exc:
                    wait = getattr(exc, "retry_after", None) or delay
                    log.warning("telegram getUpdates failed (%s): retrying in %.0f s",
                                redact(str(exc)), wait)
                    await asyncio.sleep(wait)
                    delay = min(delay * 2, MAX_BACKOFF_S)
                    continue
                delay = 1.0
                try:
                    await self.process(updates)
                except Exception:  # the database is down: keep the updates with Telegram
                    log.exception("telegram updates could not be kept: retrying in %.0f s",
                                  delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_BACKOFF_S)

    async def process(self, updates: list[Any]) -> None:
        for raw in updates:
            await self._intake.accept(raw, json.dumps(raw, ensure_ascii=False))
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if isinstance(update_id, int):
                # Confirmed once the raw update is kept (processing errors are caught and
                # recorded inside accept), so a failing handler is not delivered forever.
                self._offset = max(self._offset or 0, update_id + 1)

    async def _fetch(self, http: aiohttp.ClientSession) -> list[Any]:
        body: dict[str, Any] = {"timeout": self._timeout, "allowed_updates": ALLOWED_UPDATES}
        if self._offset is not None:
            body["offset"] = self._offset
        timeout = aiohttp.ClientTimeout(total=self._timeout + 10)
        async with http.post(self._url, json=body, timeout=timeout) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError as exc:
                raise PollingError(f"HTTP {response.status}: not JSON") from exc
        if not isinstance(data, dict) or data.get("ok") is not True:
            raise PollingError(f"HTTP {response.status}: {str(data)[:200]}",
                               _retry_after(data))
        result = data.get("result")
        return result if isinstance(result, list) else []


def _retry_after(data: object) -> float | None:
    params = data.get("parameters") if isinstance(data, dict) else None
    value = params.get("retry_after") if isinstance(params, dict) else None
    return float(value) if isinstance(value, int | float) else None
