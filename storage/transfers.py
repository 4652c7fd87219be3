"""Who works on a conversation: taking it, releasing it, moving it to another queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.model import Author, Direction, State
from handlers.ports import Holder
from storage.hot_path import HUMAN_STATES, OPEN_STATES
from storage.models import Conversation, Message

TRANSFER = "transfer:"


class QueueMoves:
    """SqlConversationStore's assignment and transfers; the store provides the session maker."""

    _sessions: async_sessionmaker[AsyncSession]

    async def assign(
        self, conversation_id: int, specialist_id: int | None, only_if_free: bool
    ) -> bool:
        where = [Conversation.id == conversation_id, Conversation.state.in_(OPEN_STATES)]
        if only_if_free:
            where.append(Conversation.assigned_to.is_(None))
        values: dict[str, Any] = {"assigned_to": specialist_id}
        if specialist_id is None:
            # Released: back in its queue's waiting list, not «в работе» with nobody.
            values["state"] = case((Conversation.state == State.WITH_SPECIALIST, State.WAITING),
                                   else_=Conversation.state)
        async with self._sessions.begin() as s:
            # One conditional UPDATE: of two specialists taking at once exactly one matches.
            result = await s.execute(update(Conversation).where(*where).values(values))
            return bool(getattr(result, "rowcount", 0))

    async def transfer(
        self, conversation_id: int, queue: str, specialist_id: int | None, now: datetime,
        expected: Holder | None = None,
    ) -> bool:
        """Back to waiting, unassigned, in the new queue; the move is kept in the history.

        The first-reply clock keeps running from the hand-over (escalated_at): the client has
        waited since then, and a transfer must not hide a missed target. The reminder mark is
        cleared so that the new queue's members get a reminder of their own.
        """
        async with self._sessions.begin() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None or conv.state not in HUMAN_STATES or conv.queue == queue:
                return False
            source = conv.queue
            result = await s.execute(update(Conversation).where(
                Conversation.id == conversation_id, Conversation.queue == source,
                Conversation.state.in_(HUMAN_STATES), *held_as(expected)).values(
                queue=queue, assigned_to=None, state=State.WAITING, reminded_at=None))
            if not getattr(result, "rowcount", 0):
                return False  # another transfer, a take or a close got there first
            s.add(Message(institution_id=conv.institution_id, conversation_id=conv.id,
                          client_id=conv.client_id, direction=Direction.OUT,
                          author=Author.SYSTEM, specialist_id=specialist_id,
                          channel=conv.channel, text="", internal=True,
                          action=transfer_action(source, queue), created_at=now))
            return True

    async def transferred_away(self, conversation_id: int, specialist_id: int | None) -> bool:
        async with self._sessions() as s:
            conv = await s.get(Conversation, conversation_id)
            return conv is not None and await transferred_away_by(s, conv, specialist_id)


def held_as(expected: Holder | None) -> list[ColumnElement[bool]]:
    """The UPDATE's own check that nobody moved, took or released it since the action's page
    was drawn: a check read before the UPDATE lets two actions at one instant both pass."""
    if expected is None:
        return []
    who = Conversation.assigned_to
    return [Conversation.queue == expected.queue,
            who.is_(None) if expected.assigned_to is None else who == expected.assigned_to]


def transfer_action(source: str, target: str) -> str:
    """How a transfer is kept in the history: "transfer:<from queue>><to queue>"."""
    return f"{TRANSFER}{source}>{target}"


async def transferred_away_by(s: AsyncSession, conv: Conversation,
                              specialist_id: int | None) -> bool:
    """Still unassigned in the queue this specialist moved it to: not theirs to answer."""
    if specialist_id is None or conv.assigned_to is not None or conv.state != State.WAITING:
        return False
    by = (await s.execute(select(Message.specialist_id).where(
        Message.conversation_id == conv.id, Message.author == Author.SYSTEM,
        Message.action.startswith(TRANSFER)).order_by(Message.id.desc()).limit(1))).first()
    return by is not None and by.specialist_id == specialist_id
