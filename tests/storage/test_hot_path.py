"""Messages and replies that arrive together are written in one transaction, each as its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from faq.model import Candidate, Decision, MatchResult
from handlers.model import (
    Author,
    Channel,
    ClientRef,
    ConversationRef,
    IncomingMessage,
    Reply,
    State,
)
from handlers.ports import Annotation
from storage.conversations import SqlConversationStore
from storage.models import Conversation, Message, OutboxItem

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def incoming(event_id: str, user: str, text: str = "", channel: Channel = Channel.VK,
             name: str = "") -> IncomingMessage:
    return IncomingMessage(channel, user, event_id, text or f"текст {event_id}", name)


@contextmanager
def commits(sessions) -> Iterator[list[int]]:
    engine = sessions.kw["bind"].sync_engine
    seen: list[int] = []

    def on_commit(_conn) -> None:
        seen.append(1)

    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", on_commit)


async def rows(sessions, statement):
    async with sessions() as s:
        return (await s.execute(statement)).all()


async def test_messages_arriving_together_share_one_transaction(sessions) -> None:
    store = SqlConversationStore(sessions)
    known = await store.record_incoming(incoming("k1", "1", name="Мария"), NOW)
    assert known is not None
    batch = [incoming("a", "1"), incoming("b", "3", name="Пётр"), incoming("c", "3"),
             incoming("d", "1", channel=Channel.TELEGRAM), incoming("e", "4")]
    later = NOW + timedelta(minutes=5)
    with commits(sessions) as seen:
        got = await asyncio.gather(*(store.record_incoming(m, later) for m in batch))
    assert len(seen) == 1
    assert all(r is not None for r in got)
    texts = dict(await rows(sessions, select(Message.id, Message.text)))
    assert [texts[r.message_id] for r in got] == [m.text for m in batch]
    # The known client keeps its conversation and name; the new client's two messages share
    # one new conversation; the same user id on another channel is another client.
    assert got[0].conversation.id == known.conversation.id
    assert got[0].client.display_name == "Мария"
    assert got[1].client.id == got[2].client.id and got[1].client.display_name == "Пётр"
    assert got[1].conversation.id == got[2].conversation.id != known.conversation.id
    assert got[3].client.id not in {got[0].client.id, got[1].client.id}
    assert len({r.conversation.id for r in got}) == 4
    convs = dict(await rows(sessions, select(Conversation.id, Conversation.last_activity_at)))
    assert convs[known.conversation.id] == later


async def test_a_redelivered_message_fails_alone(sessions) -> None:
    store = SqlConversationStore(sessions)
    assert await store.record_incoming(incoming("old", "1"), NOW) is not None
    got = await asyncio.gather(*(store.record_incoming(m, NOW) for m in [
        incoming("old", "1"), incoming("new", "2"), incoming("new", "2"), incoming("x", "5")]))
    assert got[0] is None and got[2] is None
    assert got[1] is not None and got[3] is not None
    keys = [k for (k,) in await rows(sessions, select(Message.dedupe_key))]
    assert sorted(keys) == ["vk:new", "vk:old", "vk:x"]


def answer(entry: str) -> MatchResult:
    return MatchResult(Decision.ANSWER, (Candidate(entry, 0.9), Candidate("other", 0.4)))


async def test_replies_of_many_conversations_share_one_transaction(sessions) -> None:
    store = SqlConversationStore(sessions)
    recs = [await store.record_incoming(incoming(f"q{n}", str(n)), NOW) for n in range(3)]
    assert all(r is not None for r in recs)
    replies = [[Reply("Ответ 0")], [Reply("Ответ 1a"), Reply("Ответ 1b")], [Reply("Ответ 2")]]
    with commits(sessions) as seen:
        ids = await asyncio.gather(*(
            store.enqueue(r.conversation, r.client, rs, Author.BOT, NOW,
                          annotation=Annotation(r.message_id, answer(f"e{n}"), f"cat{n}"))
            for n, (r, rs) in enumerate(zip(recs, replies, strict=True))))
    assert len(seen) == 1
    texts = dict(await rows(sessions, select(Message.id, Message.text)))
    assert [[texts[i] for i in group] for group in ids] == [
        [r.text for r in rs] for rs in replies]
    outbox = await rows(sessions, select(OutboxItem.message_id, OutboxItem.address))
    assert sorted(outbox) == sorted((i, str(n)) for n, group in enumerate(ids) for i in group)
    judged = await rows(sessions, select(Message.id, Message.faq_entry_id, Message.decision)
                        .where(Message.direction == "in"))
    assert sorted(judged) == [(r.message_id, f"e{n}", "answer") for n, r in enumerate(recs)]
    cats = await rows(sessions, select(Conversation.id, Conversation.category))
    assert sorted(cats) == [(r.conversation.id, f"cat{n}") for n, r in enumerate(recs)]


async def test_a_reply_the_database_refuses_fails_only_its_caller(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("q", "1"), NOW)
    assert rec is not None
    gone = ConversationRef(999_999, rec.client.id, Channel.VK, State.BOT, "", "")
    stranger = ClientRef(999_999, Channel.VK, "9", "", None)
    got = await asyncio.gather(
        store.enqueue(rec.conversation, rec.client, [Reply("один")], Author.BOT, NOW),
        store.enqueue(gone, stranger, [Reply("никому")], Author.BOT, NOW),
        store.enqueue(rec.conversation, rec.client, [Reply("два")], Author.BOT, NOW),
        return_exceptions=True)
    assert isinstance(got[1], IntegrityError)
    texts = sorted(t for (t,) in await rows(sessions, select(OutboxItem.payload)
                                            .order_by(OutboxItem.id)) for t in [t["text"]])
    assert texts == ["два", "один"]


@pytest.mark.parametrize("size", [1, 40])
async def test_ids_follow_the_rows_in_any_batch_size(sessions, size: int) -> None:
    store = SqlConversationStore(sessions)
    got = await asyncio.gather(*(store.record_incoming(incoming(f"m{n}", f"u{n}"), NOW)
                                 for n in range(size)))
    texts = dict(await rows(sessions, select(Message.id, Message.text)))
    assert [texts[r.message_id] for r in got] == [f"текст m{n}" for n in range(size)]
