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
    Action,
    ActionKind,
    Attachment,
    AttachmentKind,
    Author,
    Button,
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
from storage.outbox import LEASE, SqlDeliveryQueue
from tests.fakes import RecordingHandoff

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


def missing_conversation(client_id: int) -> tuple[ConversationRef, ClientRef]:
    """A conversation and client the database does not have: a reply to it is refused."""
    return (ConversationRef(999_999, client_id, Channel.VK, State.BOT, "", ""),
            ClientRef(999_999, Channel.VK, "9", "", None))


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
    gone, stranger = missing_conversation(rec.client.id)
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


class Handoff(RecordingHandoff):
    """The outbox worker's stand-in, which also reads what the store committed."""

    def __init__(self, sessions) -> None:
        super().__init__()
        self.sessions = sessions

    async def committed_outbox_ids(self) -> set[int]:
        return {i for (i,) in await rows(self.sessions, select(OutboxItem.id))}


async def test_a_reply_to_a_channel_this_replica_does_not_send_is_left_for_one_that_does(
        sessions) -> None:
    handoff = Handoff(sessions)
    handoff.channels = ("web", "vk")  # this replica runs no Telegram
    store = SqlConversationStore(sessions, worker=handoff)
    vk = await store.record_incoming(incoming("v", "1"), NOW)
    tg = await store.record_incoming(incoming("t", "2", channel=Channel.TELEGRAM), NOW)
    assert vk is not None and tg is not None
    await store.enqueue(vk.conversation, vk.client, [Reply("в вк")], Author.BOT, NOW)
    await store.enqueue(tg.conversation, tg.client, [Reply("в телеграм")], Author.BOT, NOW)
    assert [d.reply.text for d in handoff.handed] == ["в вк"]
    # Unleased and due: a replica with Telegram claims it at once.
    due = await SqlDeliveryQueue(sessions).claim_due(NOW, 10, channels={"telegram"})
    assert [(d.reply.text, d.attempts) for d in due] == [("в телеграм", 1)]


async def test_committed_replies_are_handed_to_the_worker_leased(sessions) -> None:
    handoff = Handoff(sessions)
    store = SqlConversationStore(sessions, worker=handoff)
    recs = [await store.record_incoming(incoming(f"q{n}", str(n)), NOW) for n in range(2)]
    assert all(r is not None for r in recs)
    rated = Reply("Кнопки", buttons=((Button("Оценка 5", Action(ActionKind.RATE, "5")),),))
    ids = await asyncio.gather(
        store.enqueue(recs[0].conversation, recs[0].client, [Reply("Ответ"), rated],
                      Author.BOT, NOW),
        store.enqueue(recs[1].conversation, recs[1].client, [Reply("Другой")], Author.BOT,
                      NOW))
    # One delivery per reply, carrying what a claim would have read back, rows committed.
    assert [d.message_id for d in handoff.handed] == [i for group in ids for i in group]
    assert [d.reply.text for d in handoff.handed] == ["Ответ", "Кнопки", "Другой"]
    assert handoff.handed[1].reply.buttons[0][0].action == Action(ActionKind.RATE, "5")
    assert [(d.channel, d.address) for d in handoff.handed] == [
        (Channel.VK, "0"), (Channel.VK, "0"), (Channel.VK, "1")]
    assert {d.id for d in handoff.handed} == await handoff.committed_outbox_ids()
    assert all(d.attempts == 1 and d.key == f"out-{d.id}" for d in handoff.handed)
    # Leased to this worker: no poll claims them while the lease runs...
    queue = SqlDeliveryQueue(sessions)
    assert await queue.claim_due(NOW + LEASE - timedelta(seconds=1), 10) == []
    # ...and should the process stop before sending, they come due again after it.
    again = await queue.claim_due(NOW + LEASE, 10)
    assert sorted(d.id for d in again) == sorted(d.id for d in handoff.handed)
    assert all(d.attempts == 2 for d in again)


async def test_a_handed_reply_is_the_one_a_claim_reads_back(sessions) -> None:
    handoff = Handoff(sessions)
    store = SqlConversationStore(sessions, worker=handoff)
    rec = await store.record_incoming(incoming("q", "1"), NOW)
    assert rec is not None
    rich = Reply("Ответ", buttons=((Button("Оценка 5", Action(ActionKind.RATE, "5")),),),
                 faq_entry_id="family.allowance", links=(("Госуслуги", "https://gu.example"),),
                 attachments=(Attachment(AttachmentKind.DOCUMENT, "file-1", "бланк.pdf"),))
    await store.enqueue(rec.conversation, rec.client, [rich, Reply("Ещё")], Author.BOT, NOW)
    # Handed over without reading the row back; after the lease a claim reads the row.
    claimed = await SqlDeliveryQueue(sessions).claim_due(NOW + LEASE, 10)
    assert {d.id: d.reply for d in claimed} == {d.id: d.reply for d in handoff.handed}
    assert handoff.handed[0].reply == rich


async def test_a_handed_reply_given_back_at_a_stop_is_due_at_once(sessions) -> None:
    handoff = Handoff(sessions)
    store = SqlConversationStore(sessions, worker=handoff)
    rec = await store.record_incoming(incoming("q", "1"), NOW)
    assert rec is not None
    await store.enqueue(rec.conversation, rec.client, [Reply("Ответ"), Reply("Ещё")],
                        Author.BOT, NOW)
    first, second = handoff.handed
    queue = SqlDeliveryQueue(sessions)
    await queue.mark_sent([(second.id, "tg-1")], NOW)  # sent before the stop: stays sent
    later = NOW + timedelta(seconds=5)
    await queue.release([first.id, second.id], later)
    [due] = await queue.claim_due(later, 10)
    assert (due.id, due.attempts, due.reply.text) == (first.id, 1, "Ответ")


async def test_without_a_worker_replies_wait_in_the_outbox_due_now(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("q", "1"), NOW)
    assert rec is not None
    [message_id] = await store.enqueue(rec.conversation, rec.client, [Reply("Ответ")],
                                       Author.BOT, NOW)
    [due] = await SqlDeliveryQueue(sessions).claim_due(NOW, 10)
    assert (due.message_id, due.attempts, due.reply.text) == (message_id, 1, "Ответ")


async def test_a_refused_batch_hands_over_only_what_was_committed(sessions) -> None:
    handoff = Handoff(sessions)
    store = SqlConversationStore(sessions, worker=handoff)
    rec = await store.record_incoming(incoming("q", "1"), NOW)
    assert rec is not None
    gone, stranger = missing_conversation(rec.client.id)
    got = await asyncio.gather(
        store.enqueue(rec.conversation, rec.client, [Reply("один")], Author.BOT, NOW),
        store.enqueue(gone, stranger, [Reply("никому")], Author.BOT, NOW),
        return_exceptions=True)
    assert isinstance(got[1], IntegrityError)
    assert [d.reply.text for d in handoff.handed] == ["один"]
    assert {d.id for d in handoff.handed} == await handoff.committed_outbox_ids()


async def test_a_specialist_reply_is_handed_over_and_a_note_is_not(sessions) -> None:
    handoff = Handoff(sessions)
    store = SqlConversationStore(sessions, worker=handoff)
    rec = await store.record_incoming(incoming("q", "1"), NOW)
    assert rec is not None
    note = await store.record_specialist_message(rec.conversation.id, None, "для своих", True,
                                                 NOW)
    assert note is not None and handoff.handed == []
    sent = await store.record_specialist_message(rec.conversation.id, None, "Здравствуйте",
                                                 False, NOW, dedupe_key="tg:1")
    assert [(d.message_id, d.reply.text) for d in handoff.handed] == [(sent, "Здравствуйте")]
    # The same platform event again: refused as a duplicate, nothing handed twice.
    assert await store.record_specialist_message(rec.conversation.id, None, "Здравствуйте",
                                                 False, NOW, dedupe_key="tg:1") is None
    assert len(handoff.handed) == 1


def test_a_reply_read_back_from_the_outbox_keeps_its_typed_text() -> None:
    from storage.codec import parse_payload, to_payload

    reply = Reply("Нажмите «Согласен(на)».", typed_text="Напишите «согласна».")
    assert parse_payload(to_payload(reply)) == reply
    assert "typed_text" not in to_payload(Reply("Меню"))
