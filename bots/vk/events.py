"""VK events: each kept raw first, then routed through vkbottle's labeler to the core."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError
from vkbottle import API, ErrorHandler, GroupEventType
from vkbottle.dispatch import BuiltinStateDispenser, Router
from vkbottle.framework.labeler import BotLabeler
from vkbottle.tools.mini_types.bot import MessageMin
from vkbottle_types.events.bot_events import MessageAllow, MessageDeny, MessageEvent, MessageReply

from bots.plugin import ChannelContext
from bots.vk.keyboard import app_of
from bots.vk.names import ClientNames
from bots.vk.parse import (
    attachments_of,
    event_key,
    is_chat,
    message_of,
    parse_payload,
    to_incoming,
)
from handlers.model import Action, ActionKind, Channel, ClientApp, IncomingMessage
from handlers.secrets import redact
from storage.transient import failure_status, retry_transient

log = logging.getLogger(__name__)

# The key of the event being handled, for handlers that vkbottle calls with its model only.
_KEY: ContextVar[str] = ContextVar("vk_event_key")
# Set for a message the catch-up found too old to answer (bots/vk/catchup.py).
_STORE_ONLY: ContextVar[bool] = ContextVar("vk_store_only", default=False)
# Set for a client's latest message the catch-up found too old for an FAQ answer.
_HAND_OVER: ContextVar[bool] = ContextVar("vk_hand_over", default=False)
# What the client's app shows, when the event says (a live message_new's client_info).
_APP: ContextVar[ClientApp | None] = ContextVar("vk_client_app", default=None)
# What a kept Callback body holds instead of the community's secret.
SECRET_KEPT = "[secret]"

RawHandler = Callable[[Mapping[str, Any]], Awaitable[None]]
ObjectHandler = Callable[[Mapping[str, Any]], Awaitable[None]]

# Not VK's: a field the catch-up adds to an envelope it builds. It lives in the kept raw body,
# so that replaying the body after a crash does not answer the message either.
STORE_ONLY = "priemnaya_store_only"
HAND_OVER = "priemnaya_hand_over"


def dump(model: BaseModel) -> dict[str, Any]:
    """A vkbottle model back to VK's JSON shape; the API client it carries (also inside
    forwarded messages) is not data and becomes None."""
    return model.model_dump(mode="json", exclude_none=True, by_alias=True,
                            fallback=lambda _value: None)


def without_secret(event: Mapping[str, Any], raw: str) -> str:
    """The body to keep: a Callback event carries the community's secret, which is checked
    on arrival and needed by no replay, so it is not stored with every event."""
    if "secret" not in event:
        return raw
    return json.dumps({**event, "secret": SECRET_KEPT}, ensure_ascii=False)


def _app_of(event: Mapping[str, Any]) -> ClientApp | None:
    """A live message_new says what the client's app shows; the catch-up's and the other
    events do not."""
    obj = event.get("object")
    if event.get("type") != "message_new" or not isinstance(obj, dict):
        return None
    return app_of(obj["client_info"]) if "client_info" in obj else None


def _of_object(handler: ObjectHandler) -> RawHandler:
    """A handler of an event's object, as the raw fallback of its envelope."""
    async def on_envelope(event: Mapping[str, Any]) -> None:
        obj = event.get("object")
        if not isinstance(obj, dict):
            raise ValueError(f"{event['type']} without an object")
        await handler(obj)

    return on_envelope


class VkEvents:
    def __init__(self, ctx: ChannelContext, api: API) -> None:
        self._ctx, self._api = ctx, api
        self.names = ClientNames(api)
        # Errors must reach us: vkbottle's default handler logs a rejected model and drops
        # the message, which is exactly the case the raw JSON has to cover.
        errors = ErrorHandler(raise_exceptions=True)
        labeler = BotLabeler(error_handler=errors)
        self._register(labeler)
        dispenser = BuiltinStateDispenser()  # type: ignore[no-untyped-call]
        self._router = Router().construct(labeler.views(), dispenser, errors)
        # Keyed by type, each taking the whole envelope: message_new finds its message under
        # several API versions' shapes, the others take the event's object as vkbottle would.
        self._raw: dict[str, RawHandler] = {
            "message_new": self._raw_message, "message_event": _of_object(self.on_button),
            "message_reply": _of_object(self.on_reply),
            "message_deny": _of_object(self.on_deny),
            "message_allow": _of_object(self.on_allow),
        }

    def _register(self, labeler: BotLabeler) -> None:
        @labeler.message()
        async def on_message(message: MessageMin) -> None:
            await self.on_message(dump(message))

        @labeler.raw_event(GroupEventType.MESSAGE_EVENT, dataclass=MessageEvent)
        async def on_button(event: MessageEvent) -> None:
            await self.on_button(dump(event.object))

        @labeler.raw_event(GroupEventType.MESSAGE_REPLY, dataclass=MessageReply)
        async def on_reply(event: MessageReply) -> None:
            await self.on_reply(dump(event.object))

        @labeler.raw_event(GroupEventType.MESSAGE_DENY, dataclass=MessageDeny)
        async def on_deny(event: MessageDeny) -> None:
            await self.on_deny(dump(event.object))

        @labeler.raw_event(GroupEventType.MESSAGE_ALLOW, dataclass=MessageAllow)
        async def on_allow(event: MessageAllow) -> None:
            await self.on_allow(dump(event.object))

    async def keep(self, event: Mapping[str, Any], raw: str) -> bool:
        """Stores the raw event; False when VK delivered it before."""
        return await self._ctx.inbound.keep(Channel.VK, event_key(event), str(event["type"]),
                                            without_secret(event, raw), self._ctx.clock())

    async def process(self, event: Mapping[str, Any]) -> None:
        """Handles a kept event; never raises, the outcome is recorded with the raw event."""
        key = event_key(event)
        token, quiet = _KEY.set(key), _STORE_ONLY.set(event.get(STORE_ONLY) is True)
        late = _HAND_OVER.set(event.get(HAND_OVER) is True)
        app = _APP.set(_app_of(event))
        try:
            status = await retry_transient(lambda: self._route(event), f"VK event {key}")
        except Exception as exc:
            log.exception("VK event %s (%s) failed", key, event.get("type"))
            # Left "received" after a deadlock or a lost connection: the replay job tries it
            # again; only "failed" is never replayed (acceptance: a deadlock lost 2 messages).
            await self._ctx.inbound.mark(Channel.VK, key, failure_status(exc),
                                         f"{type(exc).__name__}: {exc}")
        else:
            await self._ctx.inbound.mark(Channel.VK, key, status)
        finally:
            _KEY.reset(token)
            _STORE_ONLY.reset(quiet)
            _HAND_OVER.reset(late)
            _APP.reset(app)

    async def _route(self, event: Mapping[str, Any]) -> str:
        raw_handler = self._raw.get(str(event["type"]))
        if raw_handler is None:
            return "skipped"  # joins, typing, wall events and types newer than this code
        try:
            await self._router.route(dict(event), self._api)
        except ValidationError as exc:
            log.warning("vkbottle rejected %s %s, reading the raw JSON: %s",
                        event["type"], _KEY.get(), redact(str(exc).replace("\n", " "))[:300])
            await raw_handler(event)
        return "processed"

    async def _raw_message(self, event: Mapping[str, Any]) -> None:
        msg = message_of(event)
        if msg is None:
            raise ValueError("message_new without a message object with peer_id")
        await self.on_message(msg)

    async def on_message(self, msg: Mapping[str, Any]) -> None:
        await self._deliver(to_incoming(msg))

    async def _deliver(self, incoming: IncomingMessage) -> None:
        chat = is_chat(int(incoming.user_id))
        # Stored with the client (clients.app_lacks) for the replies of any process.
        incoming = replace(incoming, app=_APP.get())
        if not chat and not incoming.display_name:  # VK's events carry the sender's id only
            incoming = replace(incoming,
                               display_name=await self.names.of(int(incoming.user_id)))
        if chat or _STORE_ONLY.get():
            # A chat the community was invited to: kept for the record, not answered, or
            # every line of a group conversation would get an FAQ reply. Likewise a message
            # caught up days late: an automatic answer to it now would be odd.
            await self._ctx.store.record_incoming(incoming, self._ctx.clock())
            return
        if _HAND_OVER.get():
            # The client's last word, days late: an FAQ answer now would be odd and silence
            # worse. It goes to a specialist as if they had asked for one (consent first).
            incoming = replace(incoming, action=Action(ActionKind.SPECIALIST))
        await self._ctx.reception.handle(incoming)

    async def on_button(self, obj: Mapping[str, Any]) -> None:
        """A callback button: VK shows a spinner until the press is answered."""
        peer_id, user_id = int(obj["peer_id"]), int(obj["user_id"])
        try:
            await self._api.messages.send_message_event_answer(
                event_id=str(obj["event_id"]), user_id=user_id, peer_id=peer_id)
        except Exception as exc:  # an expired press, or VK unreachable: the press still counts
            log.warning("sendMessageEventAnswer failed: %s: %s", type(exc).__name__, exc)
        action = parse_payload(obj.get("payload"))
        if action is None:
            log.info("VK button with a payload not ours: %r", obj.get("payload"))
            return
        number = obj.get("conversation_message_id") or ""
        await self._deliver(IncomingMessage(Channel.VK, str(peer_id), _KEY.get(),
                                            action=action, channel_message_id=str(number)))

    async def on_reply(self, obj: Mapping[str, Any]) -> None:
        """A community manager answered in VK's own inbox; the bot's sends come back too."""
        admin = obj.get("admin_author_id")
        if not isinstance(admin, int) or admin <= 0:
            return  # our own messages.send, echoed: admin_author_id is set only for humans
        peer = str(obj["peer_id"])
        conv = await self._ctx.store.open_conversation_of(Channel.VK, peer)
        if conv is None:
            log.info("VK manager %s wrote to %s, who has no open conversation", admin, peer)
            return
        text = str(obj.get("text") or "").strip() or "\n".join(
            a.ref for a in attachments_of(obj, depth=0))
        specialist_id = await self._ctx.staff.ensure(f"vk:{admin}", "")
        number = obj.get("id") or f"{peer}:{obj.get('conversation_message_id', '')}"
        await self._ctx.desk.reply(conv.id, specialist_id, text, origin=Channel.VK,
                                   dedupe_key=f"vk:reply:{number}", deliver=False)

    async def on_deny(self, obj: Mapping[str, Any]) -> None:
        """The client forbade messages from the community: sends would fail with error 901."""
        await self._ctx.store.set_blocked(Channel.VK, str(obj["user_id"]), True,
                                          self._ctx.clock())

    async def on_allow(self, obj: Mapping[str, Any]) -> None:
        await self._ctx.store.set_blocked(Channel.VK, str(obj["user_id"]), False,
                                          self._ctx.clock())
