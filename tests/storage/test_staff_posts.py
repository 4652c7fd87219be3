"""SqlStaffPosts: posts on staff surfaces kept by id, and due for deletion with an erasure or
the retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from analytics.retention import purge_raw_texts
from handlers.model import Author, Channel, IncomingMessage
from storage.conversations import SqlConversationStore
from storage.models import Conversation, StaffBacklogItem, StaffPost
from storage.staff import SqlStaffThreads
from storage.staff_posts import SqlStaffPosts, left_over

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
TOPIC = "tg:-1001000000003:77"


async def a_conversation(store: SqlConversationStore, user: str) -> tuple[int, int]:
    rec = await store.record_incoming(IncomingMessage(Channel.VK, user, f"e{user}", "вопрос"),
                                      NOW)
    assert rec is not None
    return rec.client.id, rec.conversation.id


async def rows(sessions) -> list[tuple[int, str, int, str]]:
    async with sessions() as s:
        found = await s.scalars(select(StaffPost).order_by(StaffPost.id))
        return [(p.conversation_id, p.thread, p.message_id, p.status) for p in found]


async def test_an_erasure_makes_the_clients_posts_due_and_forgets_the_thread(sessions) -> None:
    store, posts = SqlConversationStore(sessions), SqlStaffPosts(sessions)
    client, conv = await a_conversation(store, "1")
    _, other = await a_conversation(store, "2")
    await SqlStaffThreads(sessions).set_thread(conv, TOPIC)
    await posts.record(conv, TOPIC, 0, NOW)
    await posts.record(conv, TOPIC, 501, NOW)
    await posts.record(other, "tg:-1001000000003:78", 502, NOW)
    await store.erase_client(client, NOW)
    assert await rows(sessions) == [(conv, TOPIC, 0, "erase"), (conv, TOPIC, 501, "erase"),
                                    (other, "tg:-1001000000003:78", 502, "posted")]
    assert await SqlStaffThreads(sessions).thread_of(conv) == ""  # nothing more posted there
    # Posted while the erasure ran: due at once, with the rest.
    await posts.record(conv, TOPIC, 503, NOW)
    assert (await rows(sessions))[-1] == (conv, TOPIC, 503, "erase")


async def test_a_thread_opened_before_posts_were_kept_is_still_deleted(sessions) -> None:
    store = SqlConversationStore(sessions)
    client, conv = await a_conversation(store, "1")
    await SqlStaffThreads(sessions).set_thread(conv, TOPIC)
    await store.erase_client(client, NOW)
    assert await rows(sessions) == [(conv, TOPIC, 0, "erase")]


async def test_claims_are_leased_retried_and_given_up(sessions) -> None:
    store, posts = SqlConversationStore(sessions), SqlStaffPosts(sessions)
    client, conv = await a_conversation(store, "1")
    await posts.record(conv, TOPIC, 501, NOW)
    await posts.record(conv, "tg:-1009:5", 502, NOW)  # another group: another bot's
    await store.erase_client(client, NOW)
    [claimed] = await posts.claim_erasable("tg:-1001000000003:", NOW, 10)
    assert (claimed.message_id, claimed.attempts) == (501, 1)
    assert await posts.claim_erasable("tg:-1001000000003:", NOW, 10) == []  # leased
    await posts.retry([claimed.id], NOW + timedelta(seconds=4), "TelegramServerError: 502")
    assert await posts.claim_erasable("tg:-1001000000003:", NOW + timedelta(seconds=3), 10) == []
    [again] = await posts.claim_erasable("tg:-1001000000003:", NOW + timedelta(seconds=4), 10)
    assert again.attempts == 2
    await posts.failed([again.id], "no_right:can_delete_messages")
    [left] = await left_over(sessions, "default")
    assert (left.conversation_id, left.reason, left.count) == (
        conv, "no_right:can_delete_messages", 1)
    await posts.deleted([again.id])
    assert await left_over(sessions, "default") == []
    async with sessions() as s:
        assert await s.scalar(select(Conversation.state).where(Conversation.id == conv)) == \
            "closed"


async def test_posts_refused_for_want_of_the_right_are_revived(sessions) -> None:
    store, posts = SqlConversationStore(sessions), SqlStaffPosts(sessions)
    client, conv = await a_conversation(store, "1")
    for message_id in (501, 502, 503):
        await posts.record(conv, TOPIC, message_id, NOW)
    await posts.record(conv, "tg:-1009:5", 504, NOW)  # another group: another bot's
    await store.erase_client(client, NOW)
    first, second, final = await posts.claim_erasable("tg:-1001000000003:", NOW, 10)
    [other] = await posts.claim_erasable("tg:-1009:", NOW, 10)
    await posts.failed([first.id, second.id, other.id], "no_right:can_delete_messages")
    await posts.failed([final.id], "cannot_delete")
    later = NOW + timedelta(minutes=15)
    assert await posts.revive("tg:-1001000000003:", "no_right:can_delete_messages", later,
                              limit=1) == 1
    [probe] = await posts.claim_erasable("tg:-1001000000003:", later, 10)
    # The oldest first, as a fresh round, with why it failed before.
    assert (probe.message_id, probe.attempts, probe.last_error) == (
        501, 1, "no_right:can_delete_messages")
    assert await posts.revive("tg:-1001000000003:", "no_right:can_delete_messages",
                              later) == 1
    [rest] = await posts.claim_erasable("tg:-1001000000003:", later, 10)
    assert rest.message_id == 502
    assert sorted((x.reason, x.count) for x in await left_over(sessions, "default")) == [
        ("cannot_delete", 1), ("no_right:can_delete_messages", 1)]


async def test_retention_makes_a_closed_conversations_posts_due(sessions) -> None:
    """Past the cut-off a closed conversation's texts are blanked, and what the staff group was
    shown of them goes as with an erasure; an open one keeps both; a dry run only counts."""
    store, posts, threads = SqlConversationStore(sessions), SqlStaffPosts(sessions), \
        SqlStaffThreads(sessions)
    _, old = await a_conversation(store, "1")
    _, going = await a_conversation(store, "2")
    _, unkept = await a_conversation(store, "3")  # its thread opened before posts were kept
    for conv, thread in ((old, TOPIC), (going, "tg:-1001000000003:78")):
        await threads.set_thread(conv, thread)
        await posts.record(conv, thread, 0, NOW)
        await posts.record(conv, thread, 500 + conv, NOW)
    await threads.set_thread(unkept, "tg:-1001000000003:79")
    async with sessions.begin() as s:
        s.add(StaffBacklogItem(conversation_id=old, surface="tg:-1001000000003", kind="post",
                               parts=["Ответ"],
                               created_at=NOW, next_attempt_at=NOW))
    for conv in (old, unkept):
        await store.close(conv, NOW, Author.BOT)
    later = NOW + timedelta(days=31)
    assert (await purge_raw_texts(sessions, later, days=30, dry_run=True)).staff_posts == 3
    assert {status for *_, status in await rows(sessions)} == {"posted"}
    assert (await purge_raw_texts(sessions, later, days=30)).staff_posts == 3
    assert await rows(sessions) == [
        (old, TOPIC, 0, "erase"), (old, TOPIC, 500 + old, "erase"),
        (going, "tg:-1001000000003:78", 0, "posted"),
        (going, "tg:-1001000000003:78", 500 + going, "posted"),
        (unkept, "tg:-1001000000003:79", 0, "erase")]
    assert await threads.thread_of(old) == "" and await threads.thread_of(unkept) == ""
    assert await threads.thread_of(going) == "tg:-1001000000003:78"
    async with sessions() as s:
        assert await s.scalar(select(StaffBacklogItem)) is None
    assert (await purge_raw_texts(sessions, later, days=30)).staff_posts == 0
