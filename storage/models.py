"""The database schema, designed for the analytics from day one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, orm_insert_sentinel
from sqlalchemy.types import TypeDecorator

DEFAULT_INSTITUTION = "default"

# BigInteger ids that SQLite still treats as ROWID aliases (autoincrement works there).
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend; SQLite would otherwise hand back naive values."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: JSON}


class Institution(Base):
    __tablename__ = "institutions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), default="")


class Client(Base):
    """One identity per channel: the same person in VK and Telegram is two clients."""

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("institution_id", "channel", "user_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_INSTITUTION)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    consent_at: Mapped[datetime | None]
    # Refused the consent notice and has not agreed since: no messenger name is kept.
    consent_declined: Mapped[bool] = mapped_column(Boolean, default=False)
    # What their app does not show of a reply's buttons (storage/codec.py to_app_lacks), as
    # their latest message that said it told: kept for the replies of other processes.
    app_lacks: Mapped[str] = mapped_column(String(32), default="")
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    blocked_at: Mapped[datetime | None]  # the client blocked the bot or forbade messages
    erased_at: Mapped[datetime | None]


class Specialist(Base):
    """A user of the desk and admin pages; role admin or specialist."""

    __tablename__ = "specialists"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_INSTITUTION)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(16), default="specialist")
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    telegram_user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    vk_user_id: Mapped[str | None] = mapped_column(String(32), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


AWAITING_CONSENT = "awaiting_consent"


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_client_state", "client_id", "state"),
        Index("ix_conversations_queue_state", "institution_id", "queue", "state"),
        Index("ix_conversations_opened", "institution_id", "opened_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_INSTITUTION)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(24), default="bot")
    category: Mapped[str] = mapped_column(String(64), default="")
    queue: Mapped[str] = mapped_column(String(64), default="")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why it was handed over ("client", "crisis:<rule>"); before that, "awaiting_consent" while
    # a client who asked for a specialist is asked to agree first.
    escalation_reason: Mapped[str] = mapped_column(String(64), default="")
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("specialists.id"))
    opened_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    first_specialist_reply_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str] = mapped_column(String(16), default="")
    rating: Mapped[int | None]
    rated_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    staff_thread: Mapped[str] = mapped_column(String(64), default="")  # e.g. a forum topic id


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_created", "institution_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_INSTITUTION)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    direction: Mapped[str] = mapped_column(String(4))
    author: Mapped[str] = mapped_column(String(16))
    specialist_id: Mapped[int | None] = mapped_column(ForeignKey("specialists.id"))
    channel: Mapped[str] = mapped_column(String(16))
    channel_message_id: Mapped[str] = mapped_column(String(64), default="")
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    text: Mapped[str] = mapped_column(Text, default="")
    text_length: Mapped[int] = mapped_column(Integer, default=0)  # survives retention
    action: Mapped[str] = mapped_column(String(220), default="")
    attachments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    buttons: Mapped[list[list[dict[str, str]]]] = mapped_column(JSON, default=list)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    faq_entry_id: Mapped[str] = mapped_column(String(128), default="")
    match_score: Mapped[float | None] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(16), default="")
    candidates: Mapped[list[str]] = mapped_column(JSON, default=list)
    delivery: Mapped[str] = mapped_column(String(16), default="")  # pending/sent/failed
    created_at: Mapped[datetime]
    redacted_at: Mapped[datetime | None]
    # Lets SQLite insert many messages in one statement and still tell which new id is whose
    # (SQLAlchemy's "insert sentinel", a throwaway counter per INSERT; storage/hot_path.py).
    _sentinel: Mapped[int | None] = orm_insert_sentinel()


class OutboxItem(Base):
    """One delivery to a channel; the worker retries it until sent or permanently failed."""

    __tablename__ = "outbox"
    # ix_outbox_recipient: a reply waits behind an older one still pending to the same chat
    # (storage/outbox.py); the lookup runs on every claim and every leased enqueue.
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_recipient", "channel", "address", "status", "id"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    # Waiting for a backoff that the end of an outage may cut short: not a lease, not a
    # retry at the platform's own retry_after.
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    external_id: Mapped[str] = mapped_column(String(64), default="")
    # As on messages: the rows a reply leases to this process go in one INSERT with their ids
    # back in order (storage/hot_path.py).
    _sentinel: Mapped[int | None] = orm_insert_sentinel()


class StaffPost(Base):
    """A message the bot posted about a conversation on a staff surface (a Telegram group), or
    the topic it opened there (message_id 0): an erasure of the client deletes them (152-ФЗ)."""

    __tablename__ = "staff_posts"
    __table_args__ = (Index("ix_staff_posts_conversation", "conversation_id"),
                      Index("ix_staff_posts_due", "status", "next_attempt_at"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    thread: Mapped[str] = mapped_column(String(64))  # as conversations.staff_thread
    message_id: Mapped[int] = mapped_column(BigInteger, default=0)
    # posted; erase: due for deletion at next_attempt_at; failed: left for an administrator.
    status: Mapped[str] = mapped_column(String(16), default="posted")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(200), default="")
    posted_at: Mapped[datetime]


class StaffBacklogItem(Base):
    """A post for a staff surface that met a transient failure (a network error, a 5xx, flood
    control), kept in order per conversation until the surface takes it. kind: post (parts
    ready to send), open (the topic itself, then the history), lost (a note that `lost` posts
    were given up on), title (the topic renamed to the conversation's title then)."""

    __tablename__ = "staff_backlog"
    __table_args__ = (Index("ix_staff_backlog_conversation", "conversation_id", "id"),
                      Index("ix_staff_backlog_due", "surface", "next_attempt_at"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    surface: Mapped[str] = mapped_column(String(64))  # e.g. "tg:<chat id>"
    kind: Mapped[str] = mapped_column(String(8))
    parts: Mapped[list[str]] = mapped_column(JSON, default=list)
    lost: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class InboundEvent(Base):
    """The raw body of every platform event, kept before any library parses it."""

    __tablename__ = "inbound_events"
    # The few not yet processed among a year of processed ones (replay, raw_names).
    __table_args__ = (Index("ix_inbound_events_pending", "status", "channel"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64), default="")
    raw: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="received")
    error: Mapped[str] = mapped_column(String(500), default="")
    received_at: Mapped[datetime]
    # Replays of an event still "received" (storage/replay_backoff.py): how many were
    # started, and when the next one is due.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None]


class StoredFile(Base):
    """A file a specialist sent from the web desk; channels fetch it to pass it on."""

    __tablename__ = "stored_files"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_INSTITUTION)
    name: Mapped[str] = mapped_column(String(255))
    mime: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("specialists.id"))
    created_at: Mapped[datetime]


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_INSTITUTION)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="")


class KnowledgeBaseSource(Base):
    """Which knowledge-base files serve which institution (one deployment, many centres)."""

    __tablename__ = "knowledge_bases"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_INSTITUTION)
    path: Mapped[str] = mapped_column(String(500))
    loaded_at: Mapped[datetime | None]
    entries: Mapped[int] = mapped_column(Integer, default=0)


class ChannelAccount(Base):
    """A channel endpoint (a VK community, a Telegram bot) and the institution it serves."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("channel", "account_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_INSTITUTION)
    channel: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[str] = mapped_column(String(64))


class FaqSuggestion(Base):
    """A specialist's reply proposed for the knowledge base, reviewed by an administrator."""

    __tablename__ = "faq_suggestions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    institution_id: Mapped[str] = mapped_column(String(64), default=DEFAULT_INSTITUTION)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    specialist_id: Mapped[int | None] = mapped_column(ForeignKey("specialists.id"))
    question: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="new")  # new/accepted/rejected
    entry_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("specialists.id"))


class WebSession(Base):
    """A logged-in desk or admin session; the cookie holds a random token, the row its hash."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialists.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
