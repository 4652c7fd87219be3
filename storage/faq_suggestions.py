"""Specialists' replies proposed for the knowledge base, and their review."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from faq.model import Decision
from handlers.model import Author, Direction
from storage.models import Conversation, FaqSuggestion, Message, Specialist


class SuggestionStatus:
    NEW = "new"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: int
    conversation_id: int | None
    message_id: int | None
    question: str
    answer: str
    category: str
    entry_id: str
    status: str
    suggested_by: str
    created_at: datetime
    # The conversation's queue now: where the topic may be read from when no category is.
    queue: str = ""


# The client's messages before a reply that are looked at for its question.
QUESTION_LOOKBACK = 50
# What the bot could not answer: the question that made the client ask for a person.
_UNANSWERED = frozenset({Decision.NO_MATCH, Decision.CLARIFY})
_WORD = re.compile(r"[^\W\d_]{2,}")
# "спасибо", "алло?", a phone number are not questions; "Когда придёт пособие" is.
MIN_QUESTION_WORDS = 3


def choose_question(messages: Sequence[tuple[str, str]]) -> str:
    """The question a reply answers, from the client's (text, FAQ decision), newest first.

    The latest message the bot could not answer (no match, or unsure between entries); else
    the latest phrase of a few words the bot did not answer itself; else the latest message.
    """
    texts = [(text, decision) for text, decision in messages if text.strip()]
    unanswered = (t for t, d in texts if d in _UNANSWERED)
    phrase = (t for t, d in texts if d not in (Decision.ANSWER, Decision.SMALLTALK)
              and len(_WORD.findall(t)) >= MIN_QUESTION_WORDS)
    return next(unanswered, None) or next(phrase, None) or (texts[0][0] if texts else "")


async def _question_before(s: AsyncSession, reply: Message) -> str:
    """Of the reply's own conversation first; a reply in a conversation the client opened
    with no text (a button) falls back to their earlier messages."""
    for scope in (Message.conversation_id == reply.conversation_id,
                  Message.client_id == reply.client_id):
        rows = (await s.execute(
            select(Message.text, Message.decision).where(
                scope, Message.direction == Direction.IN, Message.id < reply.id,
                Message.text != "").order_by(Message.id.desc()).limit(QUESTION_LOOKBACK))).all()
        if rows:
            return choose_question([(text, decision) for text, decision in rows])
    return ""


class SqlFaqSuggestions:
    def __init__(self, sessions: async_sessionmaker[AsyncSession],
                 institution_id: str = "default") -> None:
        self._sessions = sessions
        self._institution = institution_id

    async def suggest(self, message_id: int, specialist_id: int | None,
                      now: datetime) -> int | None:
        """A public specialist reply becomes a suggestion, with the client's question before it
        (choose_question). None when the message is not such a reply."""
        async with self._sessions.begin() as s:
            msg = await s.get(Message, message_id)
            if msg is None or msg.author != Author.SPECIALIST or msg.internal or not msg.text:
                return None
            existing = await s.scalar(select(FaqSuggestion.id).where(
                FaqSuggestion.message_id == message_id))
            if existing is not None:
                return int(existing)
            conv = await s.get_one(Conversation, msg.conversation_id)
            question = await _question_before(s, msg)
            row = FaqSuggestion(institution_id=self._institution, conversation_id=conv.id,
                                message_id=msg.id, specialist_id=specialist_id,
                                question=question or "", answer=msg.text,
                                category=conv.category, created_at=now)
            s.add(row)
            await s.flush()
            return int(row.id)

    async def pending(self, limit: int = 200) -> list[Suggestion]:
        return await self._list(FaqSuggestion.status == SuggestionStatus.NEW, limit)

    async def get(self, suggestion_id: int) -> Suggestion | None:
        found = await self._list(FaqSuggestion.id == suggestion_id, 1)
        return found[0] if found else None

    async def _list(self, condition: ColumnElement[bool], limit: int) -> list[Suggestion]:
        author = aliased(Specialist)
        query = (select(FaqSuggestion, author.display_name, Conversation.category,
                        Conversation.queue)
                 .outerjoin(author, author.id == FaqSuggestion.specialist_id)
                 .outerjoin(Conversation, Conversation.id == FaqSuggestion.conversation_id)
                 .where(condition, FaqSuggestion.institution_id == self._institution)
                 .order_by(FaqSuggestion.id).limit(limit))
        async with self._sessions() as s:
            rows = (await s.execute(query)).all()
        # A conversation filed under a topic after the reply was suggested gives its topic.
        return [Suggestion(f.id, f.conversation_id, f.message_id, f.question, f.answer,
                           f.category or category or "", f.entry_id, f.status, name or "",
                           f.created_at, queue or "")
                for f, name, category, queue in rows]

    async def review(self, suggestion_id: int, status: str, reviewer: int, now: datetime,
                     edited: Suggestion | None = None,
                     publish: Callable[[], Awaitable[None]] | None = None) -> bool:
        """Only a new suggestion can be reviewed: of two administrators, one wins.

        publish (adding the entry to the knowledge base) runs before the review is committed:
        if it raises, the suggestion stays new, never accepted without its entry.
        """
        values: dict[str, object] = {"status": status, "reviewed_by": reviewer,
                                     "reviewed_at": now}
        if edited is not None:
            values.update(question=edited.question, answer=edited.answer,
                          category=edited.category, entry_id=edited.entry_id)
        async with self._sessions.begin() as s:
            result = await s.execute(update(FaqSuggestion).where(
                FaqSuggestion.id == suggestion_id,
                FaqSuggestion.status == SuggestionStatus.NEW).values(values))
            if not getattr(result, "rowcount", 0):
                return False
            # The updated row stays locked meanwhile: a second administrator's review waits,
            # then finds the suggestion no longer new.
            if publish is not None:
                await publish()
        return True
