"""vkbottle's API client pointed at the configured host, failing fast instead of blocking."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import ClientError, ClientTimeout
from vkbottle import API, AiohttpClient, VKAPIError
from vkbottle.api.request_rescheduler import ABCRequestRescheduler

from bots.vk.config import VkConfig
from handlers.ports import DeliveryRefused, DeliveryRetry

# Error codes: https://dev.vk.com/ru/reference/errors
CLIENT_BLOCKED = frozenset({900, 901, 902})  # blacklisted us, no permission, privacy settings
TRANSIENT = frozenset({1, 6, 9, 10})  # unknown, too many requests, flood control, internal
TOO_MANY_REQUESTS = 6


class VkUnavailable(Exception):
    """VK answered with something that is not its JSON (a proxy's error page, say)."""


class FailFastRescheduler(ABCRequestRescheduler):
    """vkbottle's default rescheduler retries forever inside the call; the outbox retries."""

    async def reschedule(self, ctx_api: Any, method: str, data: dict[str, Any],
                         recent_response: Any) -> dict[str, Any]:
        raise VkUnavailable(f"{method}: VK returned no JSON: {str(recent_response)[:200]!r}")


def build_api(config: VkConfig) -> API:
    client = AiohttpClient(timeout=ClientTimeout(total=config.request_timeout_s))
    api = API(token=config.token, http_client=client,
              request_rescheduler=FailFastRescheduler())
    api.API_URL = config.api_url if config.api_url.endswith("/") else config.api_url + "/"
    return api


async def close_api(api: API) -> None:
    with contextlib.suppress(Exception):
        await api.http_client.close()


def to_delivery_error(exc: Exception) -> Exception:
    """What the outbox worker should do with a failed VK call."""
    if isinstance(exc, VKAPIError):
        code = int(getattr(exc, "code", 0) or 0)
        reason = f"VK error {code}: {getattr(exc, 'error_msg', '') or exc}"
        if code in CLIENT_BLOCKED:
            return DeliveryRefused(reason, client_blocked=True)
        if code in TRANSIENT:
            return DeliveryRetry(reason, 1.0 if code == TOO_MANY_REQUESTS else None)
        return DeliveryRefused(reason)
    if isinstance(exc, ClientError | asyncio.TimeoutError | VkUnavailable | OSError):
        return DeliveryRetry(f"{type(exc).__name__}: {exc}")
    return exc
