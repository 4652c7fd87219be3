"""The per-message writes (a client's message in, the replies out), batched per transaction.

Under load the store hands these the messages that arrived together (storage/group_commit.py):
a batch costs about the statements of one message, where one transaction per message cost
0.14 ms of SQLAlchemy around each commit and 0.045 ms around each statement
(docs/benchmarks.md, "Telegram updates per second").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import JSON, Table, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from handlers.delivery_ports import Delivery
from handlers.model import (
    ALL_BUTTONS,
    Author,
    Channel,
    ClientRef,
    ConversationRef,
    Direction,
    IncomingMessage,
    LastAnswer,
    Recorded,
    Reply,
    State,
)
from handlers.pii import as_kept
from handlers.ports import Annotation
from storage.codec import (
    parse_app,
    to_app_lacks,
    to_attachments_json,
    to_buttons_json,
    to_payload,
)
from storage.models import AWAITING_CONSENT, Client, Conversation, Message, OutboxItem
from storage.outbox import lock_recipients, outbox_delivery, pending_to
from storage.raw_names import erased_meanwhile, forget_pending, mask_pending

OPEN_STATES = (State.BOT, State.WAITING, State.WITH_SPECIALIST)
HUMAN_STATES = (State.WAITING, State.WITH_SPECIALIST)  # handed over to the staff

_clients, _conversations = cast(Table, Client.__table__), cast(Table, Conversation.__table__)
_messages, _outbox = cast(Table, Message.__table__), cast(Table, OutboxItem.__table__)
_last_conversation = (select(func.max(_conversations.c.id))
                      .where(_conversations.c.client_id == _clients.c.id)
                      .correlate(_clients).scalar_subquery())
# The conversation's latest message the client saw, for a follow-up question read as about
# the answer before it: found through ix_messages_conversation, in the same statement.
_last_shown = _messages.alias("last_shown")
_last_message = (select(func.max(_messages.c.id))
                 .where(_messages.c.conversation_id == _conversations.c.id,
                        _messages.c.internal.is_(False))
                 .correlate(_conversations).scalar_subquery())
_CLIENTS_WITH_LAST_CONVERSATION = (
    select(_clients.c.id, _clients.c.user_id, _clients.c.display_name, _clients.c.consent_at,
           _clients.c.consent_declined, _clients.c.app_lacks,
           _conversations.c.id.label("conv_id"), _conversations.c.state,
           _conversations.c.category, _conversations.c.queue, _conversations.c.assigned_to,
           _conversations.c.urgent, _conversations.c.escalation_reason,
           _last_shown.c.author.label("last_author"),
           _last_shown.c.faq_entry_id.label("last_entry"),
           _last_shown.c.created_at.label("last_at"),
           _conversations.c.first_specialist_reply_at)
    .select_from(_clients.outerjoin(_conversations,
                                    _conversations.c.id == _last_conversation)
                 .outerjoin(_last_shown, _last_shown.c.id == _last_message))
    .where(_clients.c.institution_id == bindparam("inst"),
           _clients.c.channel == bindparam("channel"),
           _clients.c.user_id.in_(bindparam("users", expanding=True))))
# sort_by_parameter_order: the ids come back in the order of the rows given, also for many.
_INSERT_CLIENTS = insert(_clients).returning(_clients.c.id, sort_by_parameter_order=True)
# Not an erased one: a message that found its client just before the erasure committed.
_TOUCH_CLIENT = (update(_clients).where(_clients.c.id == bindparam("b_id"),
                                        _clients.c.erased_at.is_(None))
                 .values(last_seen_at=bindparam("now"), blocked_at=None,
                         display_name=bindparam("name"), app_lacks=bindparam("app")))
_ERASED = select(_clients.c.id).where(_clients.c.id.in_(bindparam("ids", expanding=True)),
                                     _clients.c.erased_at.is_not(None))
_INSERT_CONVERSATIONS = insert(_conversations).returning(_conversations.c.id,
                                                         sort_by_parameter_order=True)
_TOUCH_CONVERSATION = (update(_conversations).where(_conversations.c.id == bindparam("b_id"))
                       .values(last_activity_at=bindparam("now")))
_INSERT_MESSAGES = insert(_messages).returning(_messages.c.id, sort_by_parameter_order=True)
_INSERT_OUTBOX = insert(_outbox).returning(_outbox.c.id, sort_by_parameter_order=True)
_ANNOTATE_MESSAGE = (update(_messages).where(_messages.c.id == bindparam("b_id"))
                     .values(decision=bindparam("decision"),
                             faq_entry_id=bindparam("entry"), match_score=bindparam("score"),
                             candidates=bindparam("candidates", type_=JSON)))
_SET_CATEGORY = (update(_conversations).where(
    _conversations.c.id == select(_messages.c.conversation_id)
    .where(_messages.c.id == bindparam("b_id")).scalar_subquery(),
    # != closed rather than IN (open states): an IN list cannot run as executemany.
    _conversations.c.state != State.CLOSED,
    # Handed over, a conversation keeps the topic it was routed by: a bot answer to a side
    # question while the client waits must not refile it (analytics count it by topic).
    _conversations.c.escalated_at.is_(None)).values(category=bindparam("category")))


@dataclass(frozen=True, slots=True)
class Incoming:
    msg: IncomingMessage
    now: datetime
    open_new: bool

    @property
    def key(self) -> str:
        return f"{self.msg.channel}:{self.msg.event_id}"



@dataclass(frozen=True, slots=True)
class Enqueued:
    message_ids: list[list[int]]  # per item, one per reply
    deliveries: list[Delivery]  # leased to the caller; empty without a lease
    # Chats (channel, address) whose new replies wait behind an older one still pending:
    # written unleased, for a claim once the older one is done.
    waiting: set[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Outgoing:
    conv: ConversationRef
    client: ClientRef
    replies: Sequence[Reply]
    author: Author
    now: datetime
    specialist_id: int | None = None
    annotation: Annotation | None = None


class HotPath:
    def __init__(self, institution: str) -> None:
        self._institution = institution

    def record(self, conn: Connection,
               items: Sequence[Incoming]) -> list[Recorded | None]:
        """Stores the messages; a re-delivered one fails the batch on the unique dedupe key.

        None for a message whose client was erased as it arrived: stored blank, not handled;
        or not stored at all when the erasure came before the client was looked up."""
        firsts: list[Incoming] = []
        later: set[int] = set()
        seen: set[tuple[str, str]] = set()
        for n, item in enumerate(items):
            who = (item.msg.channel, item.msg.user_id)
            if who in seen:
                later.add(n)  # its client's state depends on the earlier message
            else:
                firsts.append(item)
                seen.add(who)
        found = self._find_clients(conn, [item.msg for item in firsts])
        gone = erased_meanwhile(conn, {
            person for i in firsts if (person := (str(i.msg.channel), i.msg.user_id)) not in found
            and i.msg.channel != Channel.WEB}, min((i.now for i in firsts), default=datetime.min))
        firsts = [i for i in firsts if (str(i.msg.channel), i.msg.user_id) not in gone]
        clients = self._clients(conn, firsts, found)
        erased = self._erased(conn, firsts, clients, found)
        convs = self._conversations(conn, firsts, clients, found)
        ids = self._insert_incoming(conn, firsts, convs, erased,
                                    {c.id for c in clients if c.declined})
        batched = iter(None if client.id in erased else Recorded(message_id, client, conv)
                       for message_id, client, conv in zip(ids, clients, convs, strict=True))
        out: list[Recorded | None] = []
        for n, item in enumerate(items):
            if (str(item.msg.channel), item.msg.user_id) in gone:
                out.append(None)
            elif n in later:
                out.extend(self.record(conn, [item]))
            else:
                out.append(next(batched))
        return out

    def _find_clients(
        self, conn: Connection, msgs: Sequence[IncomingMessage]
    ) -> dict[tuple[str, str], Any]:
        found: dict[tuple[str, str], Any] = {}
        for channel in sorted({m.channel for m in msgs}):
            users = [m.user_id for m in msgs if m.channel == channel]
            rows = conn.execute(_CLIENTS_WITH_LAST_CONVERSATION, {
                "inst": self._institution, "channel": channel, "users": users})
            for r in rows:
                found[(str(channel), r.user_id)] = r
        return found

    def _clients(self, conn: Connection, items: Sequence[Incoming],
                       found: dict[tuple[str, str], Any]) -> list[ClientRef]:
        rows = [found.get((str(i.msg.channel), i.msg.user_id)) for i in items]
        new = [i for i, row in zip(items, rows, strict=True) if row is None]
        new_ids = iter(self._insert(conn, _INSERT_CLIENTS, [{
            "institution_id": self._institution, "channel": i.msg.channel,
            "user_id": i.msg.user_id, "display_name": i.msg.display_name[:200],
            "app_lacks": to_app_lacks(i.msg.app or ALL_BUTTONS),
            "created_at": i.now, "last_seen_at": i.now} for i in new]))
        clients, touched, declined = [], [], []
        for item, row in zip(items, rows, strict=True):
            name = item.msg.display_name[:200]
            if row is None:
                clients.append(ClientRef(next(new_ids), Channel(item.msg.channel),
                                         item.msg.user_id, name, None,
                                         item.msg.app or ALL_BUTTONS))
                continue
            # After a refusal the name is not kept; the client's reference still carries the
            # messenger's, which an agreement given with this message stores.
            kept = "" if row.consent_declined else name or row.display_name
            if row.consent_declined and item.msg.channel != Channel.WEB:
                declined.append((str(item.msg.channel), item.msg.user_id))
            name = name or row.display_name
            # A message that does not say (a button press, a caught-up one) keeps what was.
            app = item.msg.app or parse_app(row.app_lacks)
            # In the update the row gets anyway: no statement of its own when the app changes.
            touched.append({"b_id": row.id, "name": kept, "now": item.now,
                            "app": to_app_lacks(app)})
            clients.append(ClientRef(row.id, Channel(item.msg.channel), item.msg.user_id, name,
                                     row.consent_at, app, bool(row.consent_declined)))
        if touched:
            conn.execute(_TOUCH_CLIENT, touched)
        for channel, user_id in declined:  # nor in the raw copy of the event (rare: a query)
            mask_pending(conn, channel, user_id)
        return clients

    @staticmethod
    def _erased(conn: Connection, items: Sequence[Incoming],
                clients: Sequence[ClientRef], found: dict[tuple[str, str], Any]) -> set[int]:
        """Clients found by their user id whose erasure committed while this transaction
        waited for their row: their raw events go as the erasure's own (storage/raw_names.py).
        SQLite runs one writer at a time: the erasure is wholly before or after."""
        known = [c.id for i, c in zip(items, clients, strict=True)
                 if (str(i.msg.channel), i.msg.user_id) in found]
        if not known or conn.dialect.name == "sqlite":
            return set()
        erased = set(conn.execute(_ERASED, {"ids": known}).scalars())
        for item, client in zip(items, clients, strict=True):
            if client.id in erased and item.msg.channel != Channel.WEB:
                forget_pending(conn, str(item.msg.channel), item.msg.user_id)
        return erased

    def _conversations(
        self, conn: Connection, items: Sequence[Incoming], clients: Sequence[ClientRef],
        found: dict[tuple[str, str], Any],
    ) -> list[ConversationRef]:
        convs: list[ConversationRef | None] = []
        touched, new = [], []
        for item, client in zip(items, clients, strict=True):
            row = found.get((str(item.msg.channel), item.msg.user_id))
            if row is not None and row.conv_id is not None and (
                    row.state != State.CLOSED or not item.open_new):
                touched.append({"b_id": row.conv_id, "now": item.now})
                convs.append(ConversationRef(row.conv_id, client.id, client.channel,
                                             State(row.state), row.category, row.queue,
                                             row.assigned_to, bool(row.urgent),
                                             row.escalation_reason == AWAITING_CONSENT,
                                             last_answer=_last_answer(row),
                                             answered=row.first_specialist_reply_at is not None))
            else:
                new.append((len(convs), item, client))
                convs.append(None)
        if touched:
            conn.execute(_TOUCH_CONVERSATION, touched)
        ids = self._insert(conn, _INSERT_CONVERSATIONS, [{
            "institution_id": self._institution, "client_id": client.id,
            "channel": client.channel, "state": State.BOT, "opened_at": item.now,
            "last_activity_at": item.now} for _, item, client in new])
        for (n, _, client), conv_id in zip(new, ids, strict=True):
            convs[n] = ConversationRef(conv_id, client.id, client.channel, State.BOT, "", "")
        return [c for c in convs if c is not None]

    def _insert_incoming(self, conn: Connection, items: Sequence[Incoming],
                         convs: Sequence[ConversationRef],
                         erased: Collection[int] = (),
                         declined: Collection[int] = ()) -> list[int]:
        return self._insert(conn, _INSERT_MESSAGES, [{
            "institution_id": self._institution, "conversation_id": conv.id,
            "client_id": conv.client_id, "direction": Direction.IN, "author": Author.CLIENT,
            "channel": i.msg.channel, "channel_message_id": i.msg.channel_message_id,
            "dedupe_key": i.key, "text_length": len(i.msg.text),
            **({"text": "", "attachments": [], "redacted_at": i.now}
               if conv.client_id in erased else
               {"text": as_kept(i.msg.text, conv.client_id in declined),
                "attachments": to_attachments_json(i.msg.attachments),
                "redacted_at": None}),
            "action": i.msg.action.to_payload() if i.msg.action else "", "created_at": i.now,
        } for i, conv in zip(items, convs, strict=True)])

    def enqueue(
        self, conn: Connection, items: Sequence[Outgoing], lease: timedelta | None = None,
        channels: Collection[str] | None = None,
    ) -> Enqueued:
        """Stores the replies with their outbox rows (and the judgements they answer).

        With a lease, the rows are written as claimed for that long by this process, and their
        deliveries come back for the caller to hand to its worker once the transaction has
        committed: no query claims them. Should the process stop before sending, the lease
        runs out and any worker's poll claims them (at least once, as for a claimed row).
        A reply to a chat with an older reply still pending is not leased: it waits behind
        that one in the outbox (Enqueued.waiting), lest it overtake a reply held for a retry.
        Nor is a reply to a channel outside `channels` (the ones this process sends, when
        given): a replica that runs that channel claims it.
        """
        rows = [(item, reply) for item in items for reply in item.replies]
        # First: a transaction that waits for the lock holds no row another one may need.
        lock_recipients(conn, {(str(item.client.channel), item.client.user_id)
                               for item, _ in rows})
        annotate(conn, [i.annotation for i in items if i.annotation is not None])
        ids = self._insert(conn, _INSERT_MESSAGES, [{
            "institution_id": self._institution, "conversation_id": item.conv.id,
            "client_id": item.client.id, "direction": Direction.OUT, "author": item.author,
            "specialist_id": item.specialist_id, "channel": item.client.channel,
            "text": reply.text, "text_length": len(reply.text),
            "buttons": to_buttons_json(reply.buttons),
            "attachments": to_attachments_json(reply.attachments),
            "faq_entry_id": reply.faq_entry_id, "delivery": "pending", "created_at": item.now,
        } for item, reply in rows])
        deliveries: list[Delivery] = []
        waiting: set[tuple[str, str]] = set()
        if ids:
            if lease is not None:
                waiting = pending_to(conn, {(str(item.client.channel), item.client.user_id)
                                                  for item, _ in rows})
            leased = [lease is not None
                      and (channels is None or str(item.client.channel) in channels)
                      and (str(item.client.channel), item.client.user_id) not in waiting
                      for item, _ in rows]
            payloads = [to_payload(reply) for _, reply in rows]
            outbox = [{
                "message_id": message_id, "channel": item.client.channel,
                "address": item.client.user_id, "payload": payload,
                "next_attempt_at": item.now + lease if lease and own else item.now,
                "attempts": 1 if own else 0, "created_at": item.now,
            } for message_id, (item, _), payload, own
                in zip(ids, rows, payloads, leased, strict=True)]
            outbox_ids = self._insert(conn, _INSERT_OUTBOX, outbox)
            # The reply itself: what parse_payload would read back from the row.
            deliveries = [outbox_delivery(i, item.client.channel, item.client.user_id,
                                          reply, 1, message_id)
                          for i, (item, reply), message_id, own
                          in zip(outbox_ids, rows, ids, leased, strict=True) if own]
        taken = iter(ids)
        return Enqueued([[next(taken) for _ in item.replies] for item in items], deliveries,
                        waiting)

    @staticmethod
    def _insert(conn: Connection, statement: Any,
                      rows: list[dict[str, Any]]) -> list[int]:
        if not rows:
            return []
        return list((conn.execute(statement, rows)).scalars().all())


def _last_answer(row: Any) -> LastAnswer | None:
    """The entry the bot's latest message answered; None after any other latest message."""
    if row.last_author != Author.BOT or not row.last_entry:
        return None
    return LastAnswer(row.last_entry, row.last_at)


def annotate(conn: Connection, annotations: Sequence[Annotation]) -> None:
    """The matcher's judgement on each message, and the topic it gives its conversation."""
    judged = [a for a in annotations if a.match is not None]
    if judged:
        conn.execute(_ANNOTATE_MESSAGE, [_judgement(a) for a in judged])
    topics = [{"b_id": a.message_id, "category": a.category} for a in annotations if a.category]
    if topics:
        conn.execute(_SET_CATEGORY, topics)


def _judgement(a: Annotation) -> dict[str, Any]:
    assert a.match is not None
    best = a.match.best
    return {"b_id": a.message_id, "decision": a.match.decision,
            "entry": best.entry_id if best else "", "score": best.score if best else None,
            "candidates": [c.entry_id for c in a.match.candidates[:3]]}
