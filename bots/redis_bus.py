"""Shares conversation events between replicas through Redis pub/sub."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import redis.asyncio as redis

from handlers.ports import ConversationEvent, EventKind, Notifier

log = logging.getLogger(__name__)

CHANNEL = "priemnaya:events"


def to_json(event: ConversationEvent, replica: str) -> str:
    return json.dumps({"replica": replica, "kind": event.kind, "conversation_id":
                       event.conversation_id, "message_id": event.message_id,
                       "text": event.text, "origin": event.origin}, ensure_ascii=False)


def parse_event(raw: str | bytes) -> tuple[str, ConversationEvent] | None:
    try:
        data = json.loads(raw)
        event = ConversationEvent(EventKind(data["kind"]), int(data["conversation_id"]),
                                  data.get("message_id"), str(data.get("text", "")),
                                  str(data.get("origin", "")))
        return str(data["replica"]), event
    except (ValueError, KeyError, TypeError):
        return None


class RedisEventBus:
    """A Notifier that forwards events to the other replicas' local surfaces (e.g. the desk).

    Surfaces that must act once per event (the Telegram group) stay local to the replica that
    raised it; only views that every replica serves are fed from the bus.
    """

    def __init__(self, url: str, local: Notifier, channel: str = CHANNEL) -> None:
        self._redis = redis.from_url(url)
        self._local = local
        self._channel = channel
        self.replica = uuid.uuid4().hex

    async def publish(self, event: ConversationEvent) -> None:
        try:
            await self._redis.publish(self._channel, to_json(event, self.replica))
        except redis.RedisError:
            log.warning("could not share event %s with other replicas", event.kind)

    async def run(self) -> None:
        while True:
            try:
                await self._listen()
            except redis.RedisError:
                log.warning("event bus connection lost; reconnecting")
                await asyncio.sleep(1)

    async def _listen(self) -> None:
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(self._channel)
            async for message in pubsub.listen():
                if message.get("type") != "message":
                    continue
                parsed = parse_event(message["data"])
                if parsed is not None and parsed[0] != self.replica:
                    await self._local.publish(parsed[1])

    async def close(self) -> None:
        await self._redis.aclose()
