"""Read models of the specialists' desk, and the reply-target marks of the reminder job."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from handlers.model import Attachment
from handlers.queue_ports import WaitingTarget
from storage.codec import parse_attachments
from storage.hot_path import HUMAN_STATES
from storage.models import Client, Conversation, Message, Specialist


@dataclass(frozen=True, slots=True)
class DeskRow:
    id: int
    client_id: int
    client_name: str
    channel: str
    state: str
    queue: str
    category: str
    urgent: bool
    assigned_to: int | None
    assignee: str
    escalated_at: datetime | None
    first_reply_at: datetime | None
    breached_at: datetime | None
    last_activity_at: datetime
    due_at: datetime | None = None  # kept at the hand-over; None in older rows
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DeskMessage:
    id: int
    conversation_id: int
    direction: str
    author: str
    author_name: str
    channel: str
    text: str
    internal: bool
    attachments: tuple[tuple[str, str, str], ...]  # kind, ref, name
    delivery: str
    created_at: datetime
    redacted: bool
    action: str = ""


def _select_rows() -> Select[Conversation, str, str, str]:
    assignee = aliased(Specialist)
    return (select(Conversation, Client.display_name, assignee.display_name, assignee.login)
            .join(Client, Client.id == Conversation.client_id)
            .outerjoin(assignee, assignee.id == Conversation.assigned_to))


def _to_row(conv: Conversation, client_name: str | None, name: str | None,
            login: str | None) -> DeskRow:
    return DeskRow(conv.id, conv.client_id, client_name or "", conv.channel, conv.state,
                   conv.queue, conv.category, conv.urgent, conv.assigned_to,
                   name or login or "", conv.escalated_at, conv.first_specialist_reply_at,
                   conv.breached_at, conv.last_activity_at, conv.due_at, conv.closed_at)


def _attachments(data: object) -> tuple[tuple[str, str, str], ...]:
    items = data if isinstance(data, list) else []
    return tuple((str(a.get("kind", "")), str(a.get("ref", "")), str(a.get("name", "")))
                 for a in items if isinstance(a, dict))


class SqlDeskQueries:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 institution_id: str = "default") -> None:
        self._sessions = sessions
        self._institution = institution_id

    async def open_conversations(self, queue: str = "", limit: int = 500) -> list[DeskRow]:
        """Waiting and in-progress hand-overs, the longest waiting first."""
        query = _select_rows().where(Conversation.institution_id == self._institution,
                                     Conversation.state.in_(HUMAN_STATES))
        if queue:
            query = query.where(Conversation.queue == queue)
        query = query.order_by(Conversation.urgent.desc(), Conversation.escalated_at,
                               Conversation.id).limit(limit)
        async with self._sessions() as s:
            return [_to_row(*r) for r in (await s.execute(query)).all()]

    async def conversation(self, conversation_id: int) -> DeskRow | None:
        async with self._sessions() as s:
            row = (await s.execute(_select_rows().where(
                Conversation.id == conversation_id))).first()
            return _to_row(*row) if row else None

    async def keyed_message(self, dedupe_key: str) -> int | None:
        """The message already stored under this key (a form posted twice), if any."""
        async with self._sessions() as s:
            return await s.scalar(select(Message.id).where(Message.dedupe_key == dedupe_key))

    async def messages(self, client_id: int, limit: int = 300) -> list[DeskMessage]:
        """The client's latest messages, conversation by conversation in the order they were
        opened, oldest first within each: a note added to a closed conversation after the next
        one began stays with its own conversation instead of splitting the next one in two."""
        author = aliased(Specialist)
        query = (select(Message, author.display_name)
                 .outerjoin(author, author.id == Message.specialist_id)
                 .where(Message.client_id == client_id)
                 .order_by(Message.id.desc()).limit(limit))
        async with self._sessions() as s:
            rows = (await s.execute(query)).all()
        return [DeskMessage(m.id, m.conversation_id, m.direction, m.author, name or "",
                            m.channel, m.text, m.internal, _attachments(m.attachments),
                            m.delivery, m.created_at, m.redacted_at is not None, m.action)
                for m, name in sorted(rows, key=lambda r: (r[0].conversation_id, r[0].id))]

    async def attachment(self, message_id: int, index: int) -> tuple[int, Attachment] | None:
        """A message's attachment and its conversation; the source is the message's channel
        unless the attachment names another (a specialist's file from Telegram)."""
        async with self._sessions() as s:
            m = await s.get(Message, message_id)
        found = parse_attachments(m.attachments) if m is not None else ()
        if m is None or not 0 <= index < len(found):
            return None
        item = found[index]
        return m.conversation_id, replace(item, source=item.source or m.channel)

    async def message(self, message_id: int) -> DeskMessage | None:
        async with self._sessions() as s:
            m = await s.get(Message, message_id)
            if m is None:
                return None
            return DeskMessage(m.id, m.conversation_id, m.direction, m.author, "", m.channel,
                               m.text, m.internal, _attachments(m.attachments), m.delivery,
                               m.created_at, m.redacted_at is not None)


class SqlReplyTargets:
    """The ReplyTargets port: hand-overs still waiting for a first specialist reply."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def waiting(self) -> list[WaitingTarget]:
        query = select(Conversation.id, Conversation.queue, Conversation.urgent,
                       Conversation.escalated_at, Conversation.reminded_at,
                       Conversation.due_at).where(
            Conversation.state.in_(HUMAN_STATES), Conversation.escalated_at.is_not(None),
            Conversation.first_specialist_reply_at.is_(None),
            Conversation.breached_at.is_(None))
        async with self._sessions() as s:
            rows = (await s.execute(query)).all()
        return [WaitingTarget(cid, queue, urgent, escalated_at, reminded_at is not None, due_at)
                for cid, queue, urgent, escalated_at, reminded_at, due_at in rows
                if escalated_at is not None]

    async def mark_reminded(self, conversation_id: int, now: datetime) -> bool:
        return await self._mark(conversation_id, "reminded_at", now)

    async def mark_breached(self, conversation_id: int, now: datetime) -> bool:
        return await self._mark(conversation_id, "breached_at", now)

    async def _mark(self, conversation_id: int, column: str, now: datetime) -> bool:
        col = getattr(Conversation, column)
        async with self._sessions.begin() as s:
            # Conditional: with two replicas running the job, one of them wins.
            result = await s.execute(update(Conversation).where(
                Conversation.id == conversation_id, col.is_(None),
                Conversation.first_specialist_reply_at.is_(None)).values({column: now}))
            return bool(getattr(result, "rowcount", 0))
