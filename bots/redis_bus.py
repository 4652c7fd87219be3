"""Shares conversation events between replicas through Redis pub/sub."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import redis.asyncio as redis
from redis.asyncio.client import PubSub

from bots.redis_client import TIMEOUT_S, build_redis, close_redis, redis_address, redis_db
from handlers.event_ports import ConversationEvent, EventKind, Notifier

log = logging.getLogger(__name__)

# Events wait here for the sender: a burst while Redis is slow is kept, a long outage is not.
MAX_PENDING = 1000
# Reconnecting waits 1, 2, 4 … seconds up to this: a Redis down for hours costs a line an hour,
# not one a second, and one back within a minute is found again within a minute.
MAX_BACKOFF_S = 60.0
# A subscribed connection is silent while nothing happens: after this much silence it is
# pinged, and a Redis that no longer answers (packets dropped) is noticed within the timeout.
IDLE_S = 15.0
LOST = (redis.RedisError, OSError, TimeoutError)


def event_channel(url: str, institution: str) -> str:
    """Pub/sub ignores the database number: without it and the institution in the name, two
    institutions (or a test and production) on one Redis server would share events."""
    return f"priemnaya:{institution}:db{redis_db(url)}:events"


def backoff(first_s: float, most_s: float) -> Iterator[float]:
    """first, twice that, four times … capped at most."""
    delay = first_s
    while True:
        yield delay
        delay = min(delay * 2, most_s)


def to_json(event: ConversationEvent, replica: str) -> str:
    return json.dumps({"replica": replica, "kind": event.kind, "conversation_id":
                       event.conversation_id, "message_id": event.message_id,
                       "text": event.text, "origin": event.origin,
                       "specialist_id": event.specialist_id}, ensure_ascii=False)


def parse_event(raw: str | bytes) -> tuple[str, ConversationEvent] | None:
    """The sending replica and the event; None for anything malformed."""
    try:
        data = json.loads(raw)
        message_id = data.get("message_id")
        if message_id is not None and type(message_id) is not int:
            return None
        by = data.get("specialist_id")
        event = ConversationEvent(EventKind(data["kind"]), int(data["conversation_id"]),
                                  message_id, str(data.get("text", "")),
                                  str(data.get("origin", "")),
                                  by if type(by) is int else None)
        return str(data["replica"]), event
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def reason_of(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def publish_once(url: str, channel: str, events: Sequence[ConversationEvent],
                       timeout_s: float = TIMEOUT_S) -> int:
    """For a process outside the service (`priemnaya user disable`): the events go to every
    replica's desk pages as if a replica of its own raised them. How many replicas listen,
    as Redis answers the last PUBLISH; raises what a lost Redis raises (LOST)."""
    client = build_redis(url, timeout_s)
    replica = f"cli-{uuid.uuid4().hex}"
    listening = 0
    try:
        for event in events:
            listening = int(await client.publish(channel, to_json(event, replica)))
    finally:
        await close_redis(client, timeout_s)
    return listening


class RedisEventBus:
    """A Notifier that forwards events to the other replicas' local surfaces (e.g. the desk).

    Surfaces that must act once per event (the Telegram group) stay local to the replica that
    raised it; only views that every replica serves are fed from the bus. Without Redis every
    replica goes on working alone: its own desk pages still see its own events.
    """

    def __init__(self, url: str, local: Notifier, channel: str, *, timeout_s: float = TIMEOUT_S,
                 backoff_s: tuple[float, float] = (1.0, MAX_BACKOFF_S),
                 idle_s: float = IDLE_S) -> None:
        self._redis = build_redis(url, timeout_s)
        self._local, self._channel = local, channel
        self._timeout_s, self._backoff_s, self._idle_s = timeout_s, backoff_s, idle_s
        self._pending: asyncio.Queue[str] = asyncio.Queue(MAX_PENDING)
        self.address = redis_address(url)
        self.replica = uuid.uuid4().hex
        self.connected = False  # subscribed and answering: other replicas' events arrive
        self._warned = self._not_shared = self._malformed = False

    async def publish(self, event: ConversationEvent) -> None:
        # Queued, never awaited here: a crisis hand-over publishes before its reply is
        # written, and a Redis slow to answer must not hold that reply.
        try:
            self._pending.put_nowait(to_json(event, self.replica))
        except asyncio.QueueFull:
            self._could_not_share("too many events waiting")

    async def run(self) -> None:
        sender = asyncio.create_task(self._send_pending(), name="event-bus-sender")
        try:
            await self._listen_forever()
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)

    async def close(self) -> None:
        await close_redis(self._redis, self._timeout_s)

    async def _send_pending(self) -> None:
        while True:
            payload = await self._pending.get()
            try:
                await self._redis.publish(self._channel, payload)
            except LOST as exc:
                self._could_not_share(reason_of(exc))
            else:
                self._not_shared = False

    def _could_not_share(self, reason: str) -> None:
        if not self._not_shared:  # once per outage
            log.warning("could not share events with other replicas through Redis at %s (%s)",
                        self.address, reason)
        self._not_shared = True

    async def _listen_forever(self) -> None:
        delays = backoff(*self._backoff_s)
        while True:
            try:
                await self._listen()
            except LOST as exc:
                if self.connected:
                    delays = backoff(*self._backoff_s)  # a fresh loss: retried soon
                self._lost(exc)
            await asyncio.sleep(next(delays))

    def _lost(self, exc: BaseException) -> None:
        if self.connected or not self._warned:
            log.warning("event bus: no connection to Redis at %s (%s); other replicas' events "
                        "do not reach this one until it is back", self.address, reason_of(exc))
        self._warned, self.connected = True, False

    def _found(self) -> None:
        if self._warned:
            log.info("event bus: connected to Redis at %s again", self.address)
        self._warned, self.connected = False, True

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            if await pubsub.get_message(timeout=self._timeout_s) is None:
                raise redis.TimeoutError(f"no answer to SUBSCRIBE in {self._timeout_s} s")
            self._found()
            await self._read(pubsub)
        finally:
            with contextlib.suppress(*LOST):
                async with asyncio.timeout(self._timeout_s):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _read(self, pubsub: PubSub) -> None:
        pinged = False
        while True:
            wait = self._timeout_s if pinged else self._idle_s
            message = await pubsub.get_message(timeout=wait)
            if message is None and pinged:
                raise redis.TimeoutError(f"no answer to PING in {self._timeout_s} s")
            if message is None:
                await pubsub.ping()
            else:
                await self._receive(message)
            pinged = message is None

    async def _receive(self, message: dict[str, Any]) -> None:
        if message.get("type") != "message":
            return  # subscribe confirmations, pongs
        channel = message.get("channel")
        parsed = parse_event(message["data"]) if channel == self._channel.encode() else None
        if parsed is None:
            if not self._malformed:
                log.warning("event bus: ignored a malformed event on %s", self._channel)
            self._malformed = True
        elif parsed[0] != self.replica:
            await self._local.publish(parsed[1])
