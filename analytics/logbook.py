"""The interaction log: search conversations, read a transcript (masked), keep an audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from analytics.gaps import GapMessage
from analytics.logsearch import matches, parse_terms, sql_condition
from analytics.records import Filters, Period
from handlers.names import known_name, mask_names
from handlers.pii import mask
from storage.models import (
    DEFAULT_INSTITUTION,
    AuditEntry,
    Client,
    Conversation,
    Message,
    Specialist,
)

PAGE_SIZE = 50
SNIPPET_CHARS = 160
# A text search keeps the newest conversations that match: their ids become bound parameters,
# and asyncpg (like SQLite's default build) takes at most 32,767 of them.
MAX_TEXT_HITS = 10_000
MAX_QUERY_CHARS = 200
# The gaps page clusters at most this many of the latest questions: enough for a month of a
# regional centre, and bounded in time (bench/analytics.py).
MAX_GAP_MESSAGES = 5000


@dataclass(frozen=True, slots=True)
class LogQuery:
    period: Period
    filters: Filters
    state: str = ""
    specialist_id: int | None = None
    text: str = ""
    page: int = 1


@dataclass(frozen=True, slots=True)
class LogRow:
    id: int
    opened_at: datetime
    channel: str
    state: str
    queue: str
    category: str
    specialist: str  # who replied in it (repliers_of), whoever holds it now
    snippet: str  # masked
    holder: str = ""  # who has it in work now, while it is open


@dataclass(frozen=True, slots=True)
class LogPage:
    rows: tuple[LogRow, ...]
    total: int
    page: int
    pages: int


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    id: int
    author: str
    at: datetime
    text: str  # masked
    internal: bool
    decision: str
    redacted: bool
    action: str = ""  # the button pressed, for a message without text
    author_name: str = ""  # the specialist who wrote it or made the transfer


@dataclass(frozen=True, slots=True)
class Transcript:
    id: int
    client_id: int
    channel: str
    state: str
    queue: str
    category: str
    opened_at: datetime
    closed_at: datetime | None
    rating: int | None
    specialist: str  # who replied in it, as in the log
    client_erased: bool
    lines: tuple[TranscriptLine, ...]
    holder: str = ""  # who has it in work now, while it is open


def searchable(text: str) -> bool:
    """A query that itself holds personal data is refused: the log is searched as masked."""
    return mask(text, names=True) == text


def masked_query(text: str) -> str:
    """A search term as the audit keeps it: a query for "Иванова" is a person looked up."""
    return mask_names(mask(text), lone=True)


def _masked(text: str, client_name: str, public: frozenset[str] = frozenset()) -> str:
    """A client's text as admin pages show it: with names, the client's own first name alone
    («Пишет вам Валентина») in any form."""
    return mask(text, public, names=True, known=known_name(client_name))


def _where(q: LogQuery, institution: str) -> list[ColumnElement[bool]]:
    f = q.filters
    where = [Conversation.institution_id == institution,
             Conversation.opened_at >= q.period.start, Conversation.opened_at < q.period.end]
    for column, value in ((Conversation.channel, f.channel), (Conversation.queue, f.queue),
                          (Conversation.category, f.category), (Conversation.state, q.state)):
        if value:
            where.append(column == value)
    if q.specialist_id is not None:
        # Their work stays theirs after a release, a transfer or their account disabled.
        where.append(or_(Conversation.assigned_to == q.specialist_id, exists().where(
            _PUBLIC_REPLY, Message.conversation_id == Conversation.id,
            Message.specialist_id == q.specialist_id)))
    return where


_PUBLIC_REPLY = (Message.author == "specialist") & Message.internal.is_(False)


async def repliers_of(s: AsyncSession, ids: list[int]) -> dict[int, list[int]]:
    """Who handled each conversation: the specialists who replied to the client in it, in
    the order of their first reply (analytics.records.ConversationRecord.repliers)."""
    found: dict[int, list[int]] = {}
    if not ids:
        return found
    rows = await s.execute(select(Message.conversation_id, Message.specialist_id).where(
        Message.conversation_id.in_(ids), _PUBLIC_REPLY, Message.specialist_id.is_not(None))
        .order_by(Message.id))
    for conversation_id, specialist_id in rows:
        mine = found.setdefault(conversation_id, [])
        if specialist_id is not None and specialist_id not in mine:
            mine.append(specialist_id)
    return found


def _holder(c: Conversation, names: dict[int, str]) -> str:
    return names.get(c.assigned_to, "") if c.assigned_to and c.closed_at is None else ""


def _named(ids: list[int], names: dict[int, str]) -> str:
    return ", ".join(names.get(i, f"#{i}") for i in ids)


async def _text_hits(s: AsyncSession, where: list[ColumnElement[bool]], text: str) -> list[int]:
    """Conversations whose masked messages hold every word of the text, in any of its forms.

    The database finds the raw candidates (case and ё folded with lower() and replace(),
    Unicode-aware on SQLite too, storage/engine.py); each is then checked as the transcript
    shows it, masked: else searching "9123" would tell which masked phone number holds it.
    """
    terms = parse_terms(text)
    rows = await s.execute(
        select(Message.conversation_id, Message.text, Client.display_name).select_from(Message)
        .join(Conversation).join(Client, Client.id == Conversation.client_id)
        # What people wrote: the bot's own texts (the greeting names every topic) and the
        # labels of pressed buttons («Согласен(на)») would match nearly every conversation.
        .where(*where, Message.internal.is_(False), Message.author.in_(("client", "specialist")),
               Message.action == "", sql_condition(Message.text, terms))
        .order_by(Message.conversation_id.desc()))
    hits = dict[int, None]()
    for conversation_id, body, client_name in rows:
        if conversation_id not in hits and matches(_masked(body, client_name), terms):
            hits[conversation_id] = None
            if len(hits) == MAX_TEXT_HITS:
                break
    return list(hits)


async def search(
    sessions: async_sessionmaker[AsyncSession], q: LogQuery,
    institution: str = DEFAULT_INSTITUTION,
) -> LogPage:
    where = _where(q, institution)
    async with sessions() as s:
        if q.text:
            where.append(Conversation.id.in_(await _text_hits(s, where, q.text)))
        total = int(await s.scalar(select(func.count()).select_from(Conversation)
                                   .where(*where)) or 0)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, q.page), pages)
        convs = (await s.scalars(select(Conversation).where(*where)
                                 .order_by(Conversation.opened_at.desc(), Conversation.id.desc())
                                 .offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE))).all()
        names = await _names(s)
        firsts = await _first_texts(s, [c.id for c in convs])
        repliers = await repliers_of(s, [c.id for c in convs])
        clients = {i: name for i, name in await s.execute(select(
            Client.id, Client.display_name).where(Client.id.in_({c.client_id for c in convs})))}
    rows = tuple(LogRow(c.id, c.opened_at, c.channel, c.state, c.queue, c.category,
                        _named(repliers.get(c.id, []), names),
                        _masked(firsts.get(c.id, ""), clients.get(c.client_id, ""))
                        [:SNIPPET_CHARS], _holder(c, names)) for c in convs)
    return LogPage(rows, total, page, pages)


async def staff_names(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str]:
    async with sessions() as s:
        return await _names(s)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Empty fields mean "any": who did it (login), what, and on which conversation."""

    actor: str = ""
    action: str = ""
    conversation: str = ""


async def audit_entries(
    sessions: async_sessionmaker[AsyncSession], limit: int,
    institution: str = DEFAULT_INSTITUTION, offset: int = 0,
    only: AuditFilter = AuditFilter(),
) -> tuple[list[AuditEntry], int]:
    """The newest entries after `offset` that match `only`, and how many match in all."""
    where = [AuditEntry.institution_id == institution]
    if only.actor:
        where.append(AuditEntry.actor == only.actor)
    if only.action:
        where.append(AuditEntry.action == only.action)
    if only.conversation:
        where += [AuditEntry.object_type == "conversation",
                  AuditEntry.object_id == only.conversation]
    async with sessions() as s:
        total = int(await s.scalar(select(func.count()).select_from(AuditEntry).where(*where))
                    or 0)
        rows = list((await s.scalars(select(AuditEntry).where(*where)
                                     .order_by(AuditEntry.id.desc())
                                     .offset(offset).limit(limit))).all())
    return rows, total


async def _names(s: AsyncSession) -> dict[int, str]:
    rows = await s.execute(select(Specialist.id, Specialist.display_name, Specialist.login))
    return {i: name or login for i, name, login in rows}


async def _first_texts(s: AsyncSession, ids: list[int]) -> dict[int, str]:
    """Each conversation's first question the client typed; failing that, the first label of
    a button the client pressed (the web chat keeps it as text beside the action)."""
    typed = await _first_client_texts(s, ids, Message.action == "")
    rest = [i for i in ids if i not in typed]
    return typed | (await _first_client_texts(s, rest) if rest else {})


async def _first_client_texts(s: AsyncSession, ids: list[int],
                              *where: ColumnElement[bool]) -> dict[int, str]:
    if not ids:
        return {}
    first = (select(func.min(Message.id)).where(
        Message.conversation_id.in_(ids), Message.author == "client", Message.text != "",
        Message.internal.is_(False), *where)
        .group_by(Message.conversation_id))
    rows = await s.execute(select(Message.conversation_id, Message.text)
                           .where(Message.id.in_(first)))
    return {i: text for i, text in rows}


async def transcript(
    sessions: async_sessionmaker[AsyncSession], conversation_id: int,
    institution: str = DEFAULT_INSTITUTION, public: frozenset[str] = frozenset(),
) -> Transcript | None:
    """The conversation masked, but for `public`: the institution's own contacts."""
    async with sessions() as s:
        c = await s.get(Conversation, conversation_id)
        if c is None or c.institution_id != institution:
            return None
        client = await s.get_one(Client, c.client_id)
        messages = (await s.scalars(select(Message).where(Message.conversation_id == c.id)
                                    .order_by(Message.id))).all()
        names = await _names(s)
        repliers = (await repliers_of(s, [c.id])).get(c.id, [])
    lines = tuple(TranscriptLine(m.id, m.author, m.created_at,
                                 _masked(m.text, client.display_name, public),
                                 m.internal, m.decision, m.redacted_at is not None,
                                 mask(m.action), names.get(m.specialist_id or 0, ""))
                  for m in messages)
    return Transcript(c.id, c.client_id, c.channel, c.state, c.queue, c.category, c.opened_at,
                      c.closed_at, c.rating, _named(repliers, names),
                      client.erased_at is not None, lines, _holder(c, names))


async def gap_messages(
    sessions: async_sessionmaker[AsyncSession], period: Period, filters: Filters,
    institution: str = DEFAULT_INSTITUTION,
) -> list[GapMessage]:
    """Client messages of the period the bot could not answer or had to clarify."""
    where = _gap_where(period, filters, institution)
    async with sessions() as s:
        rows = await s.execute(select(Message.text, Message.decision, Client.display_name)
                               .join(Conversation, Conversation.id == Message.conversation_id)
                               .join(Client, Client.id == Conversation.client_id)
                               .where(*where, Message.text != "").order_by(Message.id.desc())
                               .limit(MAX_GAP_MESSAGES))
        return [GapMessage(*row) for row in reversed(rows.all())]


async def erased_gap_count(
    sessions: async_sessionmaker[AsyncSession], period: Period, filters: Filters,
    institution: str = DEFAULT_INSTITUTION,
) -> int:
    """Such messages whose text retention or an erasure removed: counted, not shown."""
    where = _gap_where(period, filters, institution)
    async with sessions() as s:
        found = await s.scalar(select(func.count()).select_from(Message)
                               .join(Conversation, Conversation.id == Message.conversation_id)
                               .where(*where, Message.redacted_at.is_not(None)))
    return int(found or 0)


def _gap_where(period: Period, filters: Filters, institution: str) -> list[ColumnElement[bool]]:
    where = [Message.institution_id == institution, Message.author == "client",
             Message.decision.in_(("no_match", "clarify")),
             Message.created_at >= period.start, Message.created_at < period.end]
    for column, value in ((Conversation.channel, filters.channel),
                          (Conversation.queue, filters.queue),
                          (Conversation.category, filters.category)):
        if value:
            where.append(column == value)
    return where


async def audit(
    sessions: async_sessionmaker[AsyncSession], now: datetime, actor: str, action: str,
    object_type: str = "", object_id: str = "", details: str = "",
    institution: str = DEFAULT_INSTITUTION,
) -> None:
    async with sessions.begin() as s:
        s.add(AuditEntry(institution_id=institution, at=now, actor=actor[:64],
                         action=action[:64], object_type=object_type[:32],
                         object_id=object_id[:64],
                         details=mask(details, names=True)[:2000]))
