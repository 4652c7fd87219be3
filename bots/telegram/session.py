"""A Bot API session that sends JSON bodies: aiogram's form encoding is slow for Russian text.

aiogram's AiohttpSession sends every method as a form, and `urllib.parse.urlencode`
percent-encodes each byte of Cyrillic text in Python: building a sendMessage body for a sample
answer takes about three times as long as a form as it does as JSON (`make bench`,
docs/benchmarks.md). The Bot API takes `application/json` for every method that uploads no
file; a method with a file to upload still goes as multipart form data.
"""

from __future__ import annotations

import json
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiohttp import ClientError, ClientTimeout


def dumps(value: Any) -> str:
    """JSON with Cyrillic as is: a third of the bytes of `\\uXXXX` escapes."""
    return json.dumps(value, ensure_ascii=False)


class JsonAiohttpSession(AiohttpSession):
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
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=self.json_dumps(body).encode("utf-8"),
                headers={"Content-Type": "application/json"},
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as e:
            raise TelegramNetworkError(method=method, message="Request timeout error") from e
        except ClientError as e:
            raise TelegramNetworkError(method=method, message=f"{type(e).__name__}: {e}") from e
        response = self.check_response(
            bot=bot, method=method, status_code=resp.status, content=raw_result
        )
        return cast(TelegramType, response.result)
