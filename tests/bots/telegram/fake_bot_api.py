"""A fake Telegram Bot API on 127.0.0.1 that records every call aiogram makes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = 7000000001


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    ok: bool = True


@dataclass
class Failure:
    method: str
    status: int
    description: str
    retry_after: int | None = None
    when: Callable[[dict[str, Any]], bool] = lambda params: True
    times: int = 1
    page: str = ""  # answered instead of the Bot API's JSON, as a proxy's error page is


@dataclass
class FakeBotApi:
    """Answers like the Bot API; `forum=False` makes createForumTopic fail as in a plain group."""

    forum: bool = True
    calls: list[Call] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    deleted_topics: set[int] = field(default_factory=set)
    topics: dict[int, str] = field(default_factory=dict)  # topic -> its name now
    # The bot's messages still in a chat: message_id -> (chat_id, topic or 0).
    posted: dict[int, tuple[int, int]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content (getFile)
    expired: set[str] = field(default_factory=set)  # getFile answers, the download is a 404
    # Methods that hang once received (the call is recorded) until their event is set.
    stalls: dict[str, asyncio.Event] = field(default_factory=dict)
    url: str = ""
    _next_id: int = 1000
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def push_update(self, update: dict[str, Any]) -> None:
        self.updates.append(update)
        self._arrived.set()

    def sent(self, method: str = "sendMessage", **match: Any) -> list[dict[str, Any]]:
        """Calls the fake accepted (refused ones are in `attempts`)."""
        return [c.params for c in self.attempts(method, **match) if c.ok]

    def attempts(self, method: str = "sendMessage", **match: Any) -> list[Call]:
        return [c for c in self.calls if c.method == method
                and all(str(c.params.get(k)) == str(v) for k, v in match.items())]

    def fail(self, failure: Failure) -> None:
        self.failures.append(failure)

    def stall(self, method: str) -> asyncio.Event:
        """Calls of `method` hang until the event is set; then answered as usual."""
        return self.stalls.setdefault(method, asyncio.Event())

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await _params(request)
        call = Call(method, params)
        failure = self._failure_for(method, params)
        if failure is not None:
            self.calls.append(call)
            call.ok = False
            return failure
        if method == "getUpdates":
            return await self._get_updates(params)
        self.calls.append(call)
        if method in self.stalls:
            await self.stalls[method].wait()
        if method == "getFile":
            return self._get_file(params)
        if method in ("deleteMessage", "deleteForumTopic"):
            return self._delete(method, params)
        if method == "editForumTopic":
            return self._edit_topic(params)
        return web.json_response({"ok": True, "result": self._result(method, params)})

    def _failure_for(self, method: str, params: dict[str, Any]) -> web.Response | None:
        topic = params.get("message_thread_id")
        if topic is not None and int(topic) in self.deleted_topics:
            return _error(400, "Bad Request: message thread not found")
        if method == "createForumTopic" and not self.forum:
            return _error(400, "Bad Request: the chat is not a forum")
        for f in self.failures:
            if f.times > 0 and f.method == method and f.when(params):
                f.times -= 1
                if f.page:
                    return web.Response(status=f.status, text=f.page, content_type="text/html")
                return _error(f.status, f.description, f.retry_after)
        return None

    async def _download(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].rpartition("/")[2].partition(".")[0]
        if file_id not in self.files or file_id in self.expired:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=self.files[file_id])

    def _get_file(self, params: dict[str, Any]) -> web.Response:
        file_id = str(params.get("file_id", ""))
        if file_id not in self.files:
            return _error(400, "Bad Request: invalid file_id")
        return web.json_response({"ok": True, "result": {
            "file_id": file_id, "file_unique_id": f"u{file_id}",
            "file_size": len(self.files[file_id]), "file_path": f"documents/{file_id}.pdf"}})

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return {"id": BOT_ID, "is_bot": True, "first_name": "Бот",
                    "username": "example_support_bot"}
        if method == "createForumTopic":
            self._next_id += 1
            self.topics[self._next_id] = str(params.get("name", ""))
            return {"message_thread_id": self._next_id, "name": params.get("name", ""),
                    "icon_color": 7322096}
        if method.startswith(("send", "copy")):
            self._next_id += 1
            chat_id = int(params.get("chat_id", 0))
            message = {"message_id": self._next_id, "date": int(time.time()),
                       "chat": {"id": chat_id, "type": "private" if chat_id > 0
                                else "supergroup"},
                       "from": {"id": BOT_ID, "is_bot": True, "first_name": "Бот"},
                       "text": params.get("text", "")}
            if params.get("message_thread_id"):
                message["message_thread_id"] = int(params["message_thread_id"])
                message["is_topic_message"] = True
            self.posted[self._next_id] = (chat_id, int(params.get("message_thread_id") or 0))
            return message
        return True

    def _edit_topic(self, params: dict[str, Any]) -> web.Response:
        topic = int(params["message_thread_id"])
        if topic not in self.topics:
            return _error(400, "Bad Request: TOPIC_ID_INVALID")
        if params.get("name") == self.topics[topic]:
            return _error(400, "Bad Request: TOPIC_NOT_MODIFIED")
        self.topics[topic] = str(params.get("name", self.topics[topic]))
        return web.json_response({"ok": True, "result": True})

    def _delete(self, method: str, params: dict[str, Any]) -> web.Response:
        """A topic goes with every message in it; a message deleted twice is not found."""
        if method == "deleteForumTopic":
            topic = int(params["message_thread_id"])
            self.deleted_topics.add(topic)
            self.posted = {m: at for m, at in self.posted.items() if at[1] != topic}
        elif self.posted.pop(int(params["message_id"]), None) is None:
            return _error(400, "Bad Request: message to delete not found")
        return web.json_response({"ok": True, "result": True})

    async def _get_updates(self, params: dict[str, Any]) -> web.Response:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 0.5)
        due = [u for u in self.updates if u["update_id"] >= offset]
        if not due and timeout > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), timeout)
            due = [u for u in self.updates if u["update_id"] >= offset]
        self.calls.append(Call("getUpdates", params))
        return web.json_response({"ok": True, "result": due[:100]})


# Parameters the fake hands to tests as objects; the rest as the text a form carries.
_OBJECT_FIELDS = ("reply_markup", "allowed_updates", "link_preview_options")


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        data = await request.json()
        # The same shapes as a form gives, so that a test reads either encoding alike.
        return {key: _as_in_form(key, value) for key, value in data.items()} \
            if isinstance(data, dict) else {}
    form = await request.post()
    params: dict[str, Any] = {}
    for key, value in form.items():
        if isinstance(value, web.FileField):  # an upload: what arrived, not a file_id
            params[key] = {"filename": value.filename, "content": value.file.read()}
            continue
        text = value if isinstance(value, str) else ""
        # aiogram sends objects (reply_markup, ...) as JSON strings inside the form.
        if key in _OBJECT_FIELDS and text:
            params[key] = json.loads(text)
        else:
            params[key] = text
    # An uploaded file travels in a field of its own, named by "attach://<field>".
    return {key: params.get(value[len("attach://"):], value)
            if isinstance(value, str) and value.startswith("attach://") else value
            for key, value in params.items()}


def _as_in_form(key: str, value: Any) -> Any:
    if key in _OBJECT_FIELDS or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)
