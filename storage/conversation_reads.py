"""Reads of the conversation store: a client's conversations and messages, the last offer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.model import Author, Button, Channel, ClientRef, ConversationRef, Direction, State
from handlers.ports import HistoryItem
from storage.codec import parse_app, parse_attachments, parse_buttons
from storage.hot_path import OPEN_STATES
from storage.models import AWAITING_CONSENT, Client, Conversation, Message


def to_client_ref(c: Client) -> ClientRef:
    return ClientRef(c.id, Channel(c.channel), c.user_id, c.display_name, c.consent_at,
                     parse_app(c.app_lacks), c.consent_declined)


def to_conversation_ref(c: Conversation) -> ConversationRef:
    return ConversationRef(c.id, c.client_id, Channel(c.channel), State(c.state), c.category,
                           c.queue, c.assigned_to, c.urgent,
                           c.escalation_reason == AWAITING_CONSENT,
                           answered=c.first_specialist_reply_at is not None)


class ConversationReads:
    """SqlConversationStore's reads; the store provides the session maker and institution."""

    _sessions: async_sessionmaker[AsyncSession]
    _institution: str

    async def last_closed(self, client_id: int) -> ConversationRef | None:
        async with self._sessions() as s:
            conv = await s.scalar(select(Conversation).where(
                Conversation.client_id == client_id, Conversation.state == State.CLOSED)
                .order_by(Conversation.closed_at.desc(), Conversation.id.desc()).limit(1))
            return to_conversation_ref(conv) if conv else None

    async def history(self, conversation_id: int, limit: int = 50) -> list[HistoryItem]:
        async with self._sessions() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None:
                return []
            rows = (await s.scalars(select(Message).where(Message.client_id == conv.client_id)
                                    .order_by(Message.id.desc()).limit(limit))).all()
            return [HistoryItem(m.id, Author(m.author), m.text, m.created_at, m.internal,
                                parse_attachments(m.attachments), m.action or "",
                                m.specialist_id)
                    for m in reversed(rows)]

    async def get(self, conversation_id: int) -> tuple[ConversationRef, ClientRef] | None:
        async with self._sessions() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None:
                return None
            client = await s.get_one(Client, conv.client_id)
            return to_conversation_ref(conv), to_client_ref(client)

    async def last_offer(self, channel: Channel, user_id: str) -> tuple[tuple[Button, ...], ...]:
        # Through the client's latest conversation, as recent_incoming_ids: both steps use an
        # index, where the client's messages have none of their own.
        async with self._sessions() as s:
            last = (await s.execute(
                select(Message.author, Message.buttons)
                .where(Message.conversation_id == self._latest_conversation(channel, user_id),
                       Message.internal.is_(False))
                .order_by(Message.id.desc()).limit(1))).first()
        return parse_buttons(last.buttons) if last and last.author == Author.BOT else ()

    def _latest_conversation(self, channel: Channel, user_id: str) -> Any:
        return (select(func.max(Conversation.id))
                .join(Client, Client.id == Conversation.client_id)
                .where(Client.institution_id == self._institution, Client.channel == channel,
                       Client.user_id == user_id).scalar_subquery())

    async def open_conversation_of(
        self, channel: Channel, user_id: str
    ) -> ConversationRef | None:
        async with self._sessions() as s:
            conv = await s.scalar(
                select(Conversation).join(Client, Client.id == Conversation.client_id).where(
                    Client.institution_id == self._institution, Client.channel == channel,
                    Client.user_id == user_id, Conversation.state.in_(OPEN_STATES))
                .order_by(Conversation.id.desc()).limit(1))
            return to_conversation_ref(conv) if conv else None

    async def recent_incoming_ids(
        self, channel: Channel, user_id: str, limit: int
    ) -> list[str]:
        # Through the client's latest conversation, which holds their latest messages: both
        # steps use an index (the clients' unique key, ix_messages_conversation).
        latest = self._latest_conversation(channel, user_id)
        async with self._sessions() as s:
            return list(await s.scalars(
                select(Message.channel_message_id)
                .where(Message.conversation_id == latest, Message.direction == Direction.IN)
                .order_by(Message.id.desc()).limit(limit)))
