"""Replies on their way to clients: the outbox, the senders, the web chat's timeline."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from handlers.model import Attachment, Author, Button, Channel, Reply


@dataclass(frozen=True, slots=True)
class Delivery:
    """An outgoing message claimed from the outbox for one attempt."""

    id: int
    channel: str
    address: str
    reply: Reply
    attempts: int
    message_id: int | None
    key: str  # stable per delivery, so a retried send is recognised as the same

    @property
    def recipient(self) -> tuple[str, str]:
        """The chat it goes to: replies to one chat go out in the order they were written."""
        return self.channel, self.address


class DeliveryRetry(Exception):
    """A send failed for now; retry_after is the platform's own wish when it gave one.

    channel_down: the whole platform failed (network, server errors, a rejected token), not
    this one send: the first send that goes through again brings the held ones forward."""

    def __init__(self, reason: str, retry_after: float | None = None,
                 channel_down: bool = False) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.channel_down = channel_down


class DeliveryRefused(Exception):
    """The platform will never accept this send (blocked bot, messages forbidden)."""

    def __init__(self, reason: str, client_blocked: bool = False) -> None:
        super().__init__(reason)
        self.client_blocked = client_blocked


class ChannelSender(Protocol):
    async def send(self, address: str, reply: Reply, key: str) -> str:
        """Deliver one reply; returns the platform's message id."""


class DeliveryQueue(Protocol):
    async def claim_due(self, now: datetime, limit: int,
                        channels: Collection[str] | None = None) -> list[Delivery]:
        """Lease due deliveries, oldest first per chat; with `channels`, those of other
        channels only once no replica that runs them has sent them for hours."""
        ...

    async def mark_sent(self, sent: Sequence[tuple[int, str]], now: datetime) -> None:
        """Record deliveries (id, platform message id) as sent, all in one transaction."""

    async def mark_retry(self, delivery_id: int, at: datetime, error: str,
                         firm: bool = False) -> None:
        """Hold a delivery until `at`; firm: the platform's own time (retry_after), which the
        end of an outage does not bring forward."""

    async def conversation_of(self, delivery: Delivery) -> int | None:
        """The conversation a delivery's message belongs to."""
        ...

    async def due_now(self, channel: str, now: datetime) -> int:
        """A channel works again after an outage: its held deliveries are due at once, not
        at their backed-off retry (up to 30 minutes on); how many. Not those held at the
        platform's own retry_after (firm), nor those leased and being sent."""
        ...

    async def release(self, delivery_ids: Sequence[int], now: datetime) -> None:
        """Give back leased deliveries never attempted: due at once, for any worker."""

    async def mark_failed(
        self, delivery: Delivery, now: datetime, error: str, client_blocked: bool
    ) -> int | None:
        """Record a permanent failure; returns the conversation it belonged to."""


class DeliveryHandoff(Protocol):
    """The outbox worker of this process, as the store sees it."""

    @property
    def channels(self) -> Collection[str]:
        """The channels it sends: replies to others wait in the outbox for a replica that
        runs them."""
        ...

    def hand(self, deliveries: Sequence[Delivery],
             waiting: Collection[tuple[str, str]] = ()) -> None:
        """Deliveries committed and leased to it; waiting: chats (channel, address) whose
        new replies wait in the outbox behind an older one still pending."""


@dataclass(frozen=True, slots=True)
class TimelineItem:
    id: int
    author: Author
    text: str
    buttons: tuple[tuple[Button, ...], ...]
    at: datetime
    delivery: str
    attachments: tuple[Attachment, ...] = ()


class ClientTimeline(Protocol):
    async def messages_for(
        self, channel: Channel, user_id: str, after_id: int, limit: int
    ) -> list[TimelineItem]: ...

    async def attachment_of(
        self, channel: Channel, user_id: str, message_id: int, index: int
    ) -> Attachment | None:
        """An attachment of a message this client can see; None for anything else."""
