"""vkbottle's API client pointed at the configured host, failing fast instead of blocking."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import ClientError, ClientTimeout
from vkbottle import API, AiohttpClient, VKAPIError
from vkbottle.api.request_rescheduler import ABCRequestRescheduler

from bots.vk.config import VkConfig
from handlers.delivery_ports import DeliveryRefused, DeliveryRetry

# Error codes: https://dev.vk.com/ru/reference/errors
CLIENT_BLOCKED = frozenset({900, 901, 902})  # blacklisted us, no permission, privacy settings
TRANSIENT = frozenset({1, 6, 9, 10})  # unknown, too many requests, flood control, internal
TOO_MANY_REQUESTS = 6
# The community's setup, not the message, is wrong: the token was revoked or regenerated, is
# not a community key, lacks the right to messages, or the bot features were switched off.
# Every send fails alike until an administrator fixes it, so replies are held and retried
# with the outbox's backoff instead of failing one by one. Refusals that concern one client
# or one message (7, 100, 900-902, 911, 914...) stay permanent.
MISCONFIGURED = {
    5: "VK rejected the community token (error 5)",
    15: "VK denied the community token access to messages (error 15)",
    27: "VK rejected the community token (error 27, group authorization failed)",
    28: "VK rejected the token as an application token (error 28)",
    912: "VK says the community's bot features are off (error 912)",
}
_REMEDY = {
    15: "give the community key access to messages, or set vk.token to one that has it",
    912: "turn on «Возможности ботов» in the community's message settings",
}

log = logging.getLogger(__name__)


class VkMisconfigured(DeliveryRetry):
    """A send refused because of the community's setup: retried, never failed at once."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason, channel_down=True)
        self.code = code

    @property
    def admin_line(self) -> str:
        remedy = _REMEDY.get(self.code, "set vk.token (PRIEMNAYA_VK__TOKEN) to a valid "
                                        "community key")
        return f"{MISCONFIGURED[self.code]}: replies are held and retried; {remedy}"


class Outage:
    """Tells the administrator once when VK starts refusing the setup, and once when it
    accepts it again, however many sends fail meanwhile (each is still logged by the outbox)."""

    def __init__(self) -> None:
        self.code: int | None = None

    def refused(self, exc: VkMisconfigured) -> None:
        if self.code != exc.code:
            self.code = exc.code
            log.error("%s", exc.admin_line)

    def accepted(self) -> None:
        if self.code is not None:
            log.warning("VK accepts the community's sends again (after error %s): held "
                        "replies go out with their next retry", self.code)
            self.code = None


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
        if code in MISCONFIGURED:
            return VkMisconfigured(code, reason)
        return DeliveryRefused(reason)
    if isinstance(exc, ClientError | asyncio.TimeoutError | VkUnavailable | OSError):
        return DeliveryRetry(f"{type(exc).__name__}: {exc}", channel_down=True)
    return exc
