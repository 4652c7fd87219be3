"""After a Long Poll gap: client messages VK holds that the bot never saw, fed in as events."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vkbottle import API

from bots.vk.config import CatchUpConfig
from bots.vk.events import HAND_OVER, STORE_ONLY, VkEvents
from bots.vk.parse import dicts_of, message_number
from handlers.model import Channel
from handlers.ports import ConversationStore

log = logging.getLogger(__name__)

PAGE = 200  # the most messages.getConversations and messages.getHistory return at once
# A button press is stored under the number of the bot's message it was on, a
# conversation_message_id far below message ids: the largest of the last few is the floor.
STORED_IDS = 20


@dataclass(frozen=True, slots=True)
class Unread:
    peer_id: int
    last_message: Mapping[str, Any]


class CatchUp:
    """Bots Long Poll delivers only events after the ts it hands out, so whatever clients
    wrote while the service was down is read from VK's history instead.

    A missed message goes the way of a live message_new event: kept raw, then processed,
    deduplicated by the message itself (parse.message_key), so one that also arrives live
    is handled once. "Missed" means newer than the client's latest stored message. Nothing
    is marked as read on VK: the community's unread marks stay for its human managers.
    """

    def __init__(self, api: API, events: VkEvents, store: ConversationStore,
                 clock: Callable[[], datetime], group_id: int, limits: CatchUpConfig) -> None:
        self._api, self._events, self._store, self._clock = api, events, store, clock
        self._group_id, self._limits = group_id, limits

    async def run(self) -> None:
        """Never raises: live polling goes on whatever happens here."""
        if self._limits.conversations <= 0:
            return
        try:
            unread = await self._unread()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("VK catch-up skipped: listing unread conversations failed (%s: %s)",
                        type(exc).__name__, exc)
            return
        outcomes = await self._catch_up(unread)
        log.info("VK catch-up: %s unread conversations, %s missed messages handled as new, "
                 "%s too old and handed to specialists, %s too old and only stored, %s known "
                 "already; %s conversations failed", len(unread), outcomes["handled"],
                 outcomes["handed over"], outcomes["stored"], outcomes["known"],
                 outcomes["failed"])

    async def _catch_up(self, unread: list[Unread]) -> Counter[str]:
        outcomes: Counter[str] = Counter()
        for conversation in unread:
            try:
                missed = await self._missed(conversation)
                for n, msg in enumerate(missed):
                    outcomes[await self._feed(msg, latest=n == len(missed) - 1)] += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one conversation must not stop the others
                outcomes["failed"] += 1
                log.warning("VK catch-up of peer %s failed (%s: %s)", conversation.peer_id,
                            type(exc).__name__, exc)
        return outcomes

    async def _unread(self) -> list[Unread]:
        found: list[Unread] = []
        offset, total = 0, self._limits.conversations
        while offset < total:
            page = await self._call("messages.getConversations", filter="unread",
                                    group_id=self._group_id, offset=offset,
                                    count=min(PAGE, total - offset))
            items = dicts_of(page.get("items"))
            found += [u for u in map(_to_unread, items) if u is not None]
            offset += len(items)
            if not items or offset >= _int(page.get("count")):
                break
        return found

    async def _missed(self, conversation: Unread) -> list[dict[str, Any]]:
        """The client's messages newer than their latest stored one, oldest first."""
        stored = await self._store.recent_incoming_ids(Channel.VK, str(conversation.peer_id),
                                                       STORED_IDS)
        floor = max((int(i) for i in stored if i.isdigit()), default=0)
        last = message_number(conversation.last_message)
        if 0 < last <= floor:
            return []  # nothing newer at all: no history call needed
        count = min(self._limits.messages, PAGE)
        page = await self._call("messages.getHistory", peer_id=conversation.peer_id,
                                group_id=self._group_id, count=count)
        items = dicts_of(page.get("items"))
        if len(items) == count and message_number(items[-1]) > floor:
            log.info("VK catch-up of peer %s: more than %s messages newer than any stored, "
                     "the older ones are left", conversation.peer_id, count)
        return [m for m in reversed(items)
                if _from_client(m, conversation.peer_id) and message_number(m) > floor]

    async def _feed(self, msg: dict[str, Any], latest: bool) -> str:
        """Handles one message as a live event; says how.

        Too old for an FAQ answer, a client's latest missed message goes to a specialist
        (nobody would see it otherwise); the older ones before it are only stored.
        """
        answer = self._answerable(msg)
        envelope: dict[str, Any] = {"type": "message_new", "group_id": self._group_id,
                                    "v": self._api.API_VERSION, "object": {"message": msg}}
        outcome = "handled"
        if not answer:
            outcome = "handed over" if latest else "stored"
            envelope[HAND_OVER if latest else STORE_ONLY] = True
        if not await self._events.keep(envelope, json.dumps(envelope, ensure_ascii=False)):
            return "known"
        await self._events.process(envelope)
        return outcome

    def _answerable(self, msg: Mapping[str, Any]) -> bool:
        sent = msg.get("date")
        if not isinstance(sent, int):
            return False  # undated: it cannot be shown to be recent
        age = self._clock() - datetime.fromtimestamp(sent, UTC)
        return age <= self._limits.answer_within

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        answer = await self._api.request(method, params)
        body = answer.get("response") if isinstance(answer, dict) else None
        if not isinstance(body, dict):
            raise ValueError(f"{method} answered {str(answer)[:200]!r}")
        return body


def _to_unread(item: Mapping[str, Any]) -> Unread | None:
    """A conversation with a user; VK does not give communities the history of chats."""
    conversation = item.get("conversation")
    peer = conversation.get("peer") if isinstance(conversation, dict) else None
    last = item.get("last_message")
    if not isinstance(peer, dict) or peer.get("type") != "user" or not isinstance(last, dict):
        return None
    peer_id = peer.get("id")
    return Unread(peer_id, last) if isinstance(peer_id, int) else None


def _from_client(msg: Mapping[str, Any], peer_id: int) -> bool:
    return not msg.get("out") and msg.get("peer_id") == peer_id


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0
