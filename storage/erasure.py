"""Consent and erasure of a client's personal data (152-ФЗ) in the conversation store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.model import Author, Channel, Direction, State
from handlers.pii import mask
from handlers.platform_ports import InboundLog
from storage.codec import parse_attachments
from storage.files import SqlFileStore
from storage.hot_path import OPEN_STATES
from storage.models import (
    AWAITING_CONSENT,
    AuditEntry,
    Client,
    Conversation,
    FaqSuggestion,
    InboundEvent,
    Message,
    OutboxItem,
)
from storage.raw_names import forget_pending, masked_without_names
from storage.staff_posts import make_due
from storage.wal import truncate_wal


class ConsentAndErasure:
    """SqlConversationStore's consent and erasure; the store provides the session maker and
    the log of raw events."""

    _sessions: async_sessionmaker[AsyncSession]
    _inbound: InboundLog | None

    async def set_consent(self, client_id: int, now: datetime, display_name: str = "") -> None:
        values: dict[str, Any] = {"consent_at": now, "consent_declined": False}
        if display_name:
            values["display_name"] = display_name[:200]
        async with self._sessions.begin() as s:
            await s.execute(update(Client).where(Client.id == client_id,
                                                 Client.consent_at.is_(None)).values(values))

    async def await_consent(self, conversation_id: int) -> None:
        async with self._sessions.begin() as s:
            await s.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.state == State.BOT)
                .values(escalation_reason=AWAITING_CONSENT))

    async def decline_consent(self, conversation_id: int) -> None:
        if self._inbound is not None:
            await self._inbound.flush()  # as for an erasure: what is processed counts as such
        async with self._sessions.begin() as s:
            conv = await s.get_one(Conversation, conversation_id)
            if conv.escalation_reason == AWAITING_CONSENT and conv.state == State.BOT:
                conv.escalation_reason = ""
            rows = (await s.execute(select(Message.id, Message.text).where(
                Message.conversation_id == conversation_id, Message.direction == Direction.IN,
                Message.text != ""))).all()
            for message_id, text in rows:
                masked = mask(text, names=True)
                if masked != text:
                    await s.execute(update(Message).where(Message.id == message_id)
                                    .values(text=masked))
            client = await s.get_one(Client, conv.client_id)
            if client.consent_at is None:
                # The name came from the messenger (VK's users.get), not from the client's
                # words: without consent it is not kept either, until they agree.
                client.display_name, client.consent_declined = "", True
            if client.channel != Channel.WEB and client.user_id:
                await self._erase_raw_events(s, client.channel, client.user_id)
            # The event being processed now (the «нет» itself) is masked in place, its sender's
            # profile name blanked, its JSON still readable for a re-run.
            if client.channel != Channel.WEB and client.user_id:
                pending = (await s.execute(select(InboundEvent.id, InboundEvent.raw).where(
                    InboundEvent.channel == client.channel, InboundEvent.status == "received",
                    InboundEvent.raw.contains(client.user_id, autoescape=True)))).all()
                for event_id, raw in pending:
                    if (masked_raw := masked_without_names(raw)) != raw:
                        await s.execute(update(InboundEvent).where(InboundEvent.id == event_id)
                                        .values(raw=masked_raw))

    async def erase_client(self, client_id: int, now: datetime, by: str = "client") -> list[int]:
        if self._inbound is not None:
            # Statuses are written a moment after processing (storage/staff.py): the events
            # processed just now must count as processed, so that their raw copies go too.
            await self._inbound.flush()
        async with self._sessions.begin() as s:
            client = await s.get_one(Client, client_id)
            channel, user_id = client.channel, client.user_id
            if by == "client":  # the data subject's own request, carried out (152-ФЗ ст. 21)
                s.add(AuditEntry(institution_id=client.institution_id, at=now, actor="клиент",
                                 action="erase_self", object_type="client",
                                 object_id=str(client.id)))
            sent = await s.scalars(select(Message.attachments).where(
                Message.client_id == client_id, Message.direction == Direction.OUT))
            await SqlFileStore.delete_for(s, [a for data in sent for a in parse_attachments(data)])
            client.display_name = ""
            client.user_id = f"erased:{client.id}"
            client.consent_at = None
            client.erased_at = now
            # The client's row locked first: a message of theirs being stored now is either
            # committed before, and blanked below, or stored blank after (storage/hot_path.py).
            await s.flush()
            if channel != Channel.WEB and user_id:
                await (await s.connection()).run_sync(forget_pending, channel, user_id)
                await self._erase_raw_events(s, channel, user_id)
            await s.execute(update(Message).where(Message.client_id == client_id).values(
                text="", attachments=[], redacted_at=now))
            # Suggestions for the knowledge base quote the client's messages and the replies.
            quoting = FaqSuggestion.conversation_id.in_(
                select(Conversation.id).where(Conversation.client_id == client_id))
            await s.execute(delete(FaqSuggestion).where(quoting, FaqSuggestion.status == "new"))
            await s.execute(update(FaqSuggestion).where(quoting).values(question="", answer=""))
            await s.execute(update(Conversation).where(
                Conversation.client_id == client_id, Conversation.state.in_(OPEN_STATES))
                .values(state=State.CLOSED, closed_at=now, closed_by=Author.CLIENT))
            await self._trim_audit(s, client_id)
            # What the staff group was shown of the client goes too.
            await make_due(s, select(Conversation.id).where(Conversation.client_id == client_id),
                           now)
            await s.execute(update(OutboxItem).where(
                OutboxItem.status != "pending",
                OutboxItem.message_id.in_(select(Message.id).where(
                    Message.client_id == client_id))).values(payload={}, address=""))
            conversations = list(await s.scalars(select(Conversation.id).where(
                Conversation.client_id == client_id).order_by(Conversation.id)))
        await truncate_wal(self._sessions)
        return conversations

    @staticmethod
    async def _trim_audit(s: AsyncSession, client_id: int) -> None:
        """The audit keeps who did what and when; the names of files sent to an erased client
        («message 172: Смирнов_заявление.pdf (45 B)») go, the message number stays."""
        ids = [str(i) for i in await s.scalars(
            select(Conversation.id).where(Conversation.client_id == client_id))]
        entries = (await s.execute(select(AuditEntry.id, AuditEntry.details).where(
            AuditEntry.object_type == "conversation", AuditEntry.object_id.in_(ids),
            AuditEntry.details.contains(": ")))).all()
        for entry_id, details in entries:
            await s.execute(update(AuditEntry).where(AuditEntry.id == entry_id)
                            .values(details=details.split(": ", 1)[0]))

    @staticmethod
    async def _erase_raw_events(s: AsyncSession, channel: str, user_id: str) -> None:
        """Raw platform bodies hold the client's id and texts; processed ones can go.

        Bodies are matched by the platform user id appearing in them, which may also catch
        another user whose id contains it: only raw copies of already-processed events are
        lost then, never a message (those live in the messages table).
        """
        await s.execute(delete(InboundEvent).where(
            InboundEvent.channel == channel, InboundEvent.status != "received",
            InboundEvent.raw.contains(user_id, autoescape=True)))
