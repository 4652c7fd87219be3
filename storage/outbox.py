"""SqlDeliveryQueue and SqlClientTimeline: the outbox table and the client's view of it."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, exists, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.delivery_ports import Delivery, TimelineItem
from handlers.model import Attachment, Author, Channel, Direction, Reply
from handlers.secrets import redact
from storage.codec import parse_attachments, parse_buttons, parse_payload
from storage.engine import core_transaction, in_core_transaction
from storage.models import Client, Message, OutboxItem

# A claimed delivery is invisible to other workers for this long; if the process dies in the
# middle of a send, the delivery becomes due again after it (at-least-once, keyed per send).
LEASE = timedelta(seconds=60)
# A reply to a channel this replica does not run waits this long for a replica that does
# (longer than such a replica's own retries, bots/outbox.py MAX_ATTEMPTS): then it is failed
# here, so that the desk shows it undelivered instead of pending for ever.
ORPHAN_AFTER = timedelta(hours=3)

# Prebuilt Core statements: the outbox is on every reply's path (docs/benchmarks.md).
_outbox, _messages = cast(Table, OutboxItem.__table__), cast(Table, Message.__table__)
_older = _outbox.alias("older")
# Replies to one chat go out in the order they were written: a row waits while an older one
# to the same channel and address is still pending (held for a retry, or leased and sending).
_OLDER_PENDING = select(_older.c.id).where(
    _older.c.channel == _outbox.c.channel, _older.c.address == _outbox.c.address,
    _older.c.status == "pending", _older.c.id < _outbox.c.id)
_DUE = (select(_outbox.c.id, _outbox.c.channel, _outbox.c.address, _outbox.c.payload,
               _outbox.c.attempts, _outbox.c.message_id)
        .where(_outbox.c.status == "pending", _outbox.c.next_attempt_at <= bindparam("now"),
               # Older ones due as well are claimed with it, ahead of it (ordered by id).
               ~exists(_OLDER_PENDING.where(_older.c.next_attempt_at > bindparam("now"))))
        .order_by(_outbox.c.id))
# Claimed rows behind an older pending row that the claim left out: on PostgreSQL, a row
# another worker held locked while claiming it (SKIP LOCKED). Those wait: no overtaking.
_CUT_OFF = select(_outbox.c.id).where(
    _outbox.c.id.in_(bindparam("ids", expanding=True)),
    exists(_OLDER_PENDING.where(_older.c.id.not_in(bindparam("taken", expanding=True)))))
_LEASE = update(_outbox).values(attempts=_outbox.c.attempts + 1, held=False,
                                next_attempt_at=bindparam("until"))
_SENT = (update(_outbox).where(_outbox.c.id == bindparam("b_id"))
         .values(status="sent", sent_at=bindparam("now"), external_id=bindparam("ext")))
_MESSAGE_SENT = (update(_messages).where(
    _messages.c.id == select(_outbox.c.message_id).where(_outbox.c.id == bindparam("b_id"))
    .scalar_subquery()).values(delivery="sent", channel_message_id=bindparam("ext")))
# Per channel, not (channel, address) IN pairs: SQLite reads pairs through ix_outbox_due, i.e.
# every pending row (all of an outage's held replies, at each write), and one channel with
# its addresses through ix_outbox_recipient.
_PENDING_TO = (select(_outbox.c.address).distinct()
               .where(_outbox.c.channel == bindparam("channel"),
                      _outbox.c.address.in_(bindparam("addresses", expanding=True)),
                      _outbox.c.status == "pending"))


# pg_advisory_xact_lock(space, key): the outbox's own key space, apart from the migration's
# single-key lock (storage/migrations/env.py). Any fixed number, the same in every replica.
_RECIPIENT_LOCKS = 0x0B0C5
# Taken one after another in the keys' order (unnest keeps the array's): two transactions
# that lock some of the same chats never wait for each other crosswise.
_LOCK_RECIPIENTS = text("SELECT count(pg_advisory_xact_lock(:space, k)) "
                        "FROM unnest(CAST(:keys AS integer[])) AS k")


def _recipient_key(channel: str, address: str) -> int:
    """A chat's lock key: any two replicas compute the same. A collision only makes two chats
    wait for each other's writes."""
    digest = hashlib.blake2b(f"{channel}:{address}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_recipients(conn: Connection, recipients: Collection[tuple[str, str]]) -> None:
    """Holds these chats' replies by other transactions until this one ends (PostgreSQL).

    Taken before anything else is written: under READ COMMITTED a reply written beside an
    uncommitted older one to the same chat saw nothing pending (pending_to) and was handed
    over too, or committed first with the higher id and was claimed first, so the two went out
    in either order, the newer one also past the older one held for a retry. Held from before
    the look until the commit, the lock makes each chat's replies commit in the order of their
    ids and each look see every older one. SQLite needs none: its one writer holds the
    database from the reply's first insert, before the look, to the commit.
    """
    if recipients and conn.dialect.name == "postgresql":
        keys = sorted({_recipient_key(c, a) for c, a in recipients})
        conn.execute(_LOCK_RECIPIENTS, {"space": _RECIPIENT_LOCKS, "keys": keys})


def pending_to(conn: Connection,
               recipients: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these chats (channel, address) have a reply still pending in the outbox."""
    found: set[tuple[str, str]] = set()
    for channel in sorted({c for c, _ in recipients}):
        addresses = sorted(a for c, a in recipients if c == channel)
        rows = conn.execute(_PENDING_TO, {"channel": channel, "addresses": addresses})
        found.update((channel, str(address)) for address in rows.scalars())
    return found


def _mark_sent(conn: Connection, sent: Sequence[tuple[int, str]], now: datetime) -> None:
    conn.execute(_SENT, [{"b_id": i, "ext": e[:64], "now": now} for i, e in sent])
    conn.execute(_MESSAGE_SENT, [{"b_id": i, "ext": e[:64]} for i, e in sent])


def outbox_delivery(outbox_id: int, channel: str, address: str, reply: Reply,
                    attempts: int, message_id: int | None) -> Delivery:
    """One attempt at an outbox row, as its claim or its hand-over gives it to the worker."""
    return Delivery(outbox_id, channel, address, reply, attempts, message_id, f"out-{outbox_id}")


class SqlDeliveryQueue:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def claim_due(self, now: datetime, limit: int,
                        channels: Collection[str] | None = None) -> list[Delivery]:
        async with core_transaction(self._sessions) as conn:
            query = _DUE.limit(limit)
            if channels is not None:
                # A replica claims the channels it sends; another channel's rows only once no
                # replica has sent them for ORPHAN_AFTER (it then fails them, saying why).
                query = query.where(or_(_outbox.c.channel.in_(sorted(channels)),
                                        _outbox.c.created_at <= now - ORPHAN_AFTER))
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=_outbox)
            rows = (await conn.execute(query, {"now": now})).all()
            if rows:
                ids = [r.id for r in rows]
                cut = set((await conn.execute(_CUT_OFF, {"ids": ids, "taken": ids})).scalars())
                rows = [r for r in rows if r.id not in cut]
            if rows:
                await conn.execute(_LEASE.where(_outbox.c.id.in_([r.id for r in rows])),
                                   {"until": now + LEASE})
            return [outbox_delivery(r.id, r.channel, r.address, parse_payload(r.payload),
                                    r.attempts + 1, r.message_id) for r in rows]

    async def mark_sent(self, sent: Sequence[tuple[int, str]], now: datetime) -> None:
        if not sent:
            return
        await in_core_transaction(self._sessions, _mark_sent, sent, now)

    async def release(self, delivery_ids: Sequence[int], now: datetime) -> None:
        if not delivery_ids:
            return
        async with core_transaction(self._sessions) as conn:
            await conn.execute(update(_outbox).where(
                _outbox.c.id.in_(list(delivery_ids)), _outbox.c.status == "pending",
            ).values(next_attempt_at=now, attempts=_outbox.c.attempts - 1))

    async def conversation_of(self, delivery: Delivery) -> int | None:
        async with self._sessions() as s:
            found = await s.scalar(select(Message.conversation_id).where(
                Message.id == delivery.message_id))
            return int(found) if found is not None else None

    async def due_now(self, channel: str, now: datetime) -> int:
        async with self._sessions.begin() as s:
            # Only what a failure held: a leased row is being sent, and a platform's own
            # retry_after (one chat's flood limit) outlasts another chat's success.
            result = await s.execute(update(OutboxItem).where(
                OutboxItem.channel == channel, OutboxItem.status == "pending",
                OutboxItem.held.is_(True), OutboxItem.next_attempt_at > now)
                .values(next_attempt_at=now))
            return int(getattr(result, "rowcount", 0) or 0)

    async def mark_retry(self, delivery_id: int, at: datetime, error: str,
                         firm: bool = False) -> None:
        async with self._sessions.begin() as s:
            await s.execute(update(OutboxItem).where(OutboxItem.id == delivery_id)
                            .values(next_attempt_at=at, last_error=redact(error)[:500],
                                    held=not firm))

    async def mark_failed(
        self, delivery: Delivery, now: datetime, error: str, client_blocked: bool
    ) -> int | None:
        async with self._sessions.begin() as s:
            item = await s.get_one(OutboxItem, delivery.id)
            item.status, item.last_error = "failed", redact(error)[:500]
            msg = await self._set_message(s, item.message_id, "failed", "")
            if msg is None:
                return None
            if client_blocked:
                await s.execute(update(Client).where(Client.id == msg.client_id)
                                .values(blocked_at=now))
            return msg.conversation_id

    @staticmethod
    async def _set_message(
        s: AsyncSession, message_id: int | None, status: str, external_id: str
    ) -> Message | None:
        msg = await s.get(Message, message_id) if message_id else None
        if msg is not None:
            msg.delivery = status
            if external_id:
                msg.channel_message_id = external_id[:64]
        return msg


class SqlClientTimeline:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def messages_for(
        self, channel: Channel, user_id: str, after_id: int, limit: int
    ) -> list[TimelineItem]:
        async with self._sessions() as s:
            rows = (await s.scalars(
                select(Message).join(Client, Client.id == Message.client_id)
                .where(Client.channel == channel, Client.user_id == user_id,
                       Message.id > after_id, Message.internal.is_(False))
                .order_by(Message.id).limit(limit))).all()
            return [TimelineItem(m.id, Author(m.author), m.text, parse_buttons(m.buttons),
                                 m.created_at, m.delivery if m.direction == Direction.OUT
                                 else "", parse_attachments(m.attachments)) for m in rows]

    async def attachment_of(
        self, channel: Channel, user_id: str, message_id: int, index: int
    ) -> Attachment | None:
        async with self._sessions() as s:
            data = await s.scalar(
                select(Message.attachments).join(Client, Client.id == Message.client_id)
                .where(Client.channel == channel, Client.user_id == user_id,
                       Message.id == message_id, Message.internal.is_(False)))
        found = parse_attachments(data)
        return found[index] if 0 <= index < len(found) else None



