"""A fake VK API and Bots Long Poll server on 127.0.0.1 that records every call."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from aiohttp.test_utils import TestServer

GROUP_ID = 200000001


@dataclass
class Call:
    method: str
    params: dict[str, str]


@dataclass
class FakeVk:
    calls: list[Call] = field(default_factory=list)
    delivered: list[dict[str, str]] = field(default_factory=list)  # what a client would see
    refuse: dict[int, int] = field(default_factory=dict)  # peer_id -> VK error code, 0: HTML
    expired_presses: bool = False  # sendMessageEventAnswer fails as for an old press
    slow_sends: int = 0  # this many sends are delivered but answered too late
    slow_s: float = 2.0
    updates: list[dict[str, Any]] = field(default_factory=list)
    lp_replies: list[dict[str, Any]] = field(default_factory=list)  # served before updates
    key_number: int = 1
    uploads: list[tuple[str, bytes]] = field(default_factory=list)  # (file name, content)
    # The community's conversations for messages.getConversations and getHistory: each
    # peer's messages oldest first; sends are added as outgoing messages.
    history: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    in_read: dict[int, int] = field(default_factory=dict)  # peer -> last read incoming id
    page_limit: int = 200  # the most conversations VK returns per call
    failing: set[str] = field(default_factory=set)  # methods that answer "internal error"
    send_errors: list[int] = field(default_factory=list)  # the next sends answer these codes
    # users.get: each user's (first name, last name); others are a user without a name set
    names: dict[int, tuple[str, str]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)  # users.get: pages deleted or banned
    url: str = ""
    _random_ids: dict[tuple[str, str], int] = field(default_factory=dict)
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    def method_calls(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def texts(self, peer: int | None = None) -> list[str]:
        return [d["message"] for d in self.delivered
                if peer is None or d["peer_id"] == str(peer)]

    def wrote(self, *messages: dict[str, Any]) -> None:
        """Client messages VK holds (the message objects, not events)."""
        for msg in messages:
            self.history.setdefault(msg["peer_id"], []).append(msg)

    def push(self, *updates: dict[str, Any]) -> None:
        self.updates.extend(updates)
        self._new.set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/method/{name}", self._method)
        app.router.add_get("/lp", self._long_poll)
        app.router.add_post("/upload", self._upload)
        return app

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload server of docs.getMessagesUploadServer: a multipart field "file"."""
        form = await request.post()
        file = form.get("file")
        if not isinstance(file, web.FileField):
            return web.json_response({"error": "no file"})
        # aiohttp percent-encodes a non-ASCII file name in the multipart header.
        self.uploads.append((unquote(file.filename), file.file.read()))
        return web.json_response({"file": f"upload-{len(self.uploads)}"})

    def _docs(self, name: str, params: dict[str, str]) -> web.Response:
        if name == "docs.getMessagesUploadServer":
            return _ok({"upload_url": f"{self.url}/upload"})
        number = int(params.get("file", "upload-0").rpartition("-")[2] or 0)
        if not 0 < number <= len(self.uploads):
            return _error(100, "One of the parameters specified was missing or invalid: file")
        return _ok({"type": "doc", "doc": {"id": number, "owner_id": -GROUP_ID,
                                           "title": params.get("title", "")}})

    async def _method(self, request: web.Request) -> web.Response:
        params = {**request.query, **{k: str(v) for k, v in (await request.post()).items()}}
        name = request.match_info["name"]
        self.calls.append(Call(name, params))
        if params.get("access_token") != "test-token":
            return _error(5, "User authorization failed")
        if name in self.failing:
            return _error(10, "Internal server error")
        if name == "messages.getConversations":
            return self._conversations(params)
        if name == "messages.getHistory":
            return self._history(params)
        if name == "messages.send":
            return await self._send(params)
        if name == "groups.getLongPollServer":
            return self._server()
        if name in ("docs.getMessagesUploadServer", "docs.save"):
            return self._docs(name, params)
        if name == "users.get":
            return self._users(params)
        if name == "messages.sendMessageEventAnswer":
            return _error(100, "event_id is expired") if self.expired_presses else _ok(1)
        return _error(3, "Unknown method passed")

    async def _send(self, params: dict[str, str]) -> web.Response:
        peer = int(params["peer_id"])
        if self.send_errors:
            return _error(self.send_errors.pop(0), "User authorization failed: invalid "
                          "access_token (4).")
        if self.refuse.get(peer) == 0:
            return web.Response(status=502, text="<html>Bad Gateway</html>",
                                content_type="text/html")
        if peer in self.refuse:
            return _error(self.refuse[peer], "Can't send messages for users without permission")
        # Like VK: a random_id already used for this peer returns the first message's id.
        seen = (params["peer_id"], params["random_id"])
        if seen not in self._random_ids:
            self.delivered.append(params)
            self._random_ids[seen] = len(self.delivered)
            self._sent(peer, params["message"])
        if self.slow_sends:
            self.slow_sends -= 1
            await asyncio.sleep(self.slow_s)
        return _ok(self._random_ids[seen])

    def _users(self, params: dict[str, str]) -> web.Response:
        """Like VK: one object per id asked for, in that order (the ids comma-separated)."""
        users = []
        for user in params.get("user_ids", "").split(","):
            first, last = self.names.get(int(user), ("", ""))
            found: dict[str, Any] = {"id": int(user), "first_name": first, "last_name": last,
                                     "can_access_closed": True, "is_closed": False}
            if int(user) in self.deleted:
                found.update(first_name="DELETED", last_name="", deactivated="deleted")
            users.append(found)
        return _ok(users)

    def _sent(self, peer: int, text: str) -> None:
        number = max((m["id"] for ms in self.history.values() for m in ms), default=0) + 1
        cmid = len(self.history.get(peer, [])) + 1
        self.history.setdefault(peer, []).append({
            "date": int(time.time()), "from_id": -GROUP_ID, "id": number, "out": 1,
            "peer_id": peer, "text": text, "conversation_message_id": cmid,
            "attachments": [], "fwd_messages": [], "important": False, "is_hidden": False})

    def _conversations(self, params: dict[str, str]) -> web.Response:
        """Like VK: newest last message first; filter=unread keeps unread incoming ones."""
        assert params["group_id"] == str(GROUP_ID) and params["filter"] == "unread"
        items = [self._conversation(peer, msgs) for peer, msgs in self.history.items()]
        unread = sorted((i for i in items if i["conversation"]["unread_count"]),
                        key=lambda i: -i["last_message"]["id"])
        offset = int(params.get("offset", "0"))
        count = min(int(params.get("count", "20")), self.page_limit)
        return _ok({"count": len(unread), "items": unread[offset:offset + count],
                    "unread_count": len(unread)})

    def _conversation(self, peer: int, msgs: list[dict[str, Any]]) -> dict[str, Any]:
        in_read = self.in_read.get(peer, 0)
        unread = [m for m in msgs if not m["out"] and m["id"] > in_read]
        kind = "chat" if peer >= 2_000_000_000 else "user"
        return {"conversation": {
            "peer": {"id": peer, "type": kind, "local_id": peer % 2_000_000_000},
            "in_read": in_read, "out_read": msgs[-1]["id"], "last_message_id": msgs[-1]["id"],
            "unread_count": len(unread), "can_write": {"allowed": True}},
            "last_message": msgs[-1]}

    def _history(self, params: dict[str, str]) -> web.Response:
        """Newest first, as VK returns it without rev=1."""
        assert params["group_id"] == str(GROUP_ID)
        msgs = self.history.get(int(params["peer_id"]), [])[::-1]
        offset, count = int(params.get("offset", "0")), int(params.get("count", "20"))
        return _ok({"count": len(msgs), "items": msgs[offset:offset + count]})

    def _server(self) -> web.Response:
        return _ok({"key": f"key{self.key_number}", "server": f"{self.url}/lp",
                    "ts": str(len(self.updates))})

    async def _long_poll(self, request: web.Request) -> web.Response:
        q = request.query
        self.calls.append(Call("a_check", dict(q)))
        if self.lp_replies:
            return web.json_response(self.lp_replies.pop(0))
        if q.get("key") != f"key{self.key_number}":
            return web.json_response({"failed": 2})
        ts = int(q["ts"])
        if ts >= len(self.updates):
            self._new.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), float(q.get("wait", "1")))
        return web.json_response({"ts": str(len(self.updates)), "updates": self.updates[ts:]})


def _ok(response: object) -> web.Response:
    return web.json_response({"response": response})


def _error(code: int, message: str) -> web.Response:
    return web.json_response({"error": {"error_code": code, "error_msg": message,
                                        "request_params": []}})


@asynccontextmanager
async def running_fake_vk() -> AsyncIterator[FakeVk]:
    fake = FakeVk()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    try:
        yield fake
    finally:
        fake._new.set()
        await server.close()


def event(kind: str, obj: dict[str, Any], event_id: str, secret: str | None = None
          ) -> dict[str, Any]:
    body: dict[str, Any] = {"group_id": GROUP_ID, "type": kind, "event_id": event_id,
                            "v": "5.199", "object": obj}
    if secret is not None:
        body["secret"] = secret
    return body


def client_message(peer: int, text: str, number: int, date: int | None = None,
                   payload: dict[str, str] | None = None) -> dict[str, Any]:
    """VK's message object, the same in a message_new event and in messages.getHistory."""
    msg: dict[str, Any] = {"date": date or 1760000000 + number, "from_id": peer, "id": number,
                           "out": 0, "attachments": [], "conversation_message_id": number,
                           "fwd_messages": [], "important": False, "is_hidden": False,
                           "peer_id": peer, "random_id": 0, "text": text, "version": number}
    if payload is not None:
        msg["payload"] = json.dumps(payload)
    return msg


FULL_CLIENT = {"button_actions": ["text", "callback"], "keyboard": True,
               "inline_keyboard": True, "carousel": True, "lang_id": 0}


def message_new(peer: int, text: str, number: int, payload: dict[str, str] | None = None,
                secret: str | None = None, client_info: dict[str, Any] | None = None
                ) -> dict[str, Any]:
    return as_event(client_message(peer, text, number, payload=payload), secret, client_info)


def as_event(msg: dict[str, Any], secret: str | None = None,
             client_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """client_info: what the client's app shows (VK's), a current app's by default."""
    peer, number = msg["peer_id"], msg["id"]
    return event("message_new", {"message": msg, "client_info": client_info or FULL_CLIENT},
                 f"ev-new-{peer}-{number}", secret)


def message_event(peer: int, payload: dict[str, str], number: int,
                  secret: str | None = None) -> dict[str, Any]:
    return event("message_event", {"user_id": peer, "peer_id": peer,
                                   "event_id": f"press{number}", "payload": payload,
                                   "conversation_message_id": number},
                 f"ev-press-{peer}-{number}", secret)


def message_reply(peer: int, text: str, number: int, admin: int | None,
                  secret: str | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"date": 1760000000 + number, "from_id": -GROUP_ID, "id": number,
                           "out": 1, "attachments": [], "conversation_message_id": number,
                           "fwd_messages": [], "important": False, "is_hidden": False,
                           "peer_id": peer, "random_id": 0 if admin else 12345,
                           "text": text, "version": number}
    if admin:
        obj["admin_author_id"] = admin
    return event("message_reply", obj, f"ev-reply-{peer}-{number}", secret)
