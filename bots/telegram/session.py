"""A Bot API session that sends JSON bodies: aiogram's form encoding is slow for Russian text.

aiogram's AiohttpSession sends every method as a form, and `urllib.parse.urlencode`
percent-encodes each byte of Cyrillic text in Python: building a sendMessage body for a sample
answer takes about three times as long as a form as it does as JSON (`make bench`,
docs/benchmarks.md). The Bot API takes `application/json` for every method that uploads no
file; a method with a file to upload still goes as multipart form data.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiohttp import ClientError, ClientTimeout
from pydantic import BaseModel

from handlers.secrets import error_text


def dumps(value: Any) -> str:
    """JSON with Cyrillic as is: a third of the bytes of `\\uXXXX` escapes."""
    return json.dumps(value, ensure_ascii=False)


PROXY_RETRY_AFTER_S = 5  # a 429 page with no Bot API answer names no wait of its own


class JsonAiohttpSession(AiohttpSession):
    def check_response(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        status_code: int,
        content: str,
    ) -> Response[TelegramType]:
        """aiogram's check, but an error page instead of the Bot API's JSON (a proxy's or
        Telegram's own «502 Bad Gateway», a proxy's 429) raises what a JSON answer with that
        status would: retried by the outbox with one warning line, not a ClientDecodeError
        traceback at ERROR on every attempt."""
        if status_code >= 400 and not content.lstrip().startswith("{"):
            reason = f"HTTP {status_code}: the Bot API answered with no JSON"
            if status_code == 429:
                raise TelegramRetryAfter(method=method, message=reason,
                                         retry_after=PROXY_RETRY_AFTER_S)
            if status_code >= 500:
                raise TelegramServerError(method=method, message=reason)
            raise TelegramNetworkError(method=method, message=reason)
        return super().check_response(bot, method, status_code, content)

    def build_json(self, bot: Bot, method: TelegramMethod[Any]) -> dict[str, Any] | None:
        """The method's parameters as one JSON object, or None when it uploads a file."""
        files: dict[str, Any] = {}
        body: dict[str, Any] = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            # As the form does: absent, empty and false parameters are left out.
            if prepared is None or prepared == "" or prepared is False:
                continue
            body[key] = prepared
        return None if files else body

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        body = self.build_json(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        status, raw = await self._post(bot, method.__api_method__, body, lambda: method, timeout)
        response = self.check_response(bot=bot, method=method, status_code=status,
                                       content=raw)
        return cast(TelegramType, response.result)

    async def call_json(
        self,
        bot: Bot,
        name: str,
        body: dict[str, Any],
        method: Callable[[], TelegramMethod[Any]],
    ) -> Any:
        """A Bot API call whose JSON body the caller built; its result stays plain JSON.

        For the hot path of replies, sendMessage from the outbox, which needs only the new
        message's id: building aiogram's method model, dumping it and validating the Message
        that comes back cost more than the HTTP exchange itself (docs/benchmarks.md). A
        failure is read by aiogram's own `check_response` against the method model, built only
        then, so it raises exactly the exceptions a call through `Bot` raises.
        """
        status, raw = await self._post(bot, name, body, method, None)
        if status == 200:
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict) and parsed.get("ok") is True and "result" in parsed:
                return parsed["result"]
        result = self.check_response(bot=bot, method=method(), status_code=status,
                                     content=raw).result
        return result.model_dump() if isinstance(result, BaseModel) else result

    async def _post(
        self,
        bot: Bot,
        name: str,
        body: dict[str, Any],
        method: Callable[[], TelegramMethod[Any]],
        timeout: int | None,  # noqa: ASYNC109 - aiogram's meaning: seconds, None = session's
    ) -> tuple[int, str]:
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=name)
        try:
            async with session.post(
                url,
                data=self.json_dumps(body).encode("utf-8"),
                headers={"Content-Type": "application/json"},
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                return resp.status, await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method(), message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method(),
                                       message=error_text(e)) from e
