"""SqlStaffBacklog: posts kept in order per conversation, given up on into one note, and
dropped with an erasure of the client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from handlers.staff_ports import BacklogKind
from storage.conversations import SqlConversationStore
from storage.staff_backlog import SqlStaffBacklog
from tests.storage.test_staff_posts import a_conversation

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)
CHAT = "tg:-1001000000003"


async def test_only_the_oldest_of_a_conversation_is_due_and_leased(sessions) -> None:
    store, backlog = SqlConversationStore(sessions), SqlStaffBacklog(sessions)
    _, conv = await a_conversation(store, "1")
    _, other = await a_conversation(store, "2")
    first = await backlog.add(conv, CHAT, BacklogKind.POST, ["первый"], NOW, NOW, "502")
    await backlog.add(conv, CHAT, BacklogKind.POST, ["второй"], NOW, NOW, "")
    await backlog.add(other, "tg:-1009", BacklogKind.POST, ["чужой"], NOW, NOW, "")
    assert await backlog.due(CHAT, NOW, 10) == [conv]
    assert await backlog.due(CHAT, NOW, 10) == []  # leased
    head = await backlog.head(conv)
    assert head is not None and head.parts == ("первый",) and head.id == first
    await backlog.hold(head.id, BacklogKind.POST, ["ервый"], NOW + timedelta(seconds=2), "")
    assert await backlog.due(CHAT, NOW + timedelta(seconds=1), 10) == []
    await backlog.done(head.id)
    head = await backlog.head(conv)
    assert head is not None and head.parts == ("второй",)


async def test_what_is_given_up_becomes_one_note_at_the_head(sessions) -> None:
    store, backlog = SqlConversationStore(sessions), SqlStaffBacklog(sessions)
    _, conv = await a_conversation(store, "1")
    for n in range(3):
        await backlog.add(conv, CHAT, BacklogKind.POST, [f"{n}"], NOW + timedelta(minutes=n),
                          NOW, "")
    assert await backlog.expire(conv, NOW + timedelta(minutes=2)) == 2
    head = await backlog.head(conv)
    assert head is not None and (head.kind, head.lost, head.parts) == (BacklogKind.LOST, 2, ())
    assert await backlog.expire(conv, NOW + timedelta(minutes=3)) == 1
    head = await backlog.head(conv)
    assert head is not None and (head.kind, head.lost) == (BacklogKind.LOST, 3)
    await backlog.done(head.id)
    assert not await backlog.waiting(conv)


async def test_a_topic_to_open_is_never_given_up_on(sessions) -> None:
    store, backlog = SqlConversationStore(sessions), SqlStaffBacklog(sessions)
    _, conv = await a_conversation(store, "1")
    await backlog.add(conv, CHAT, BacklogKind.OPEN, [], NOW, NOW, "502")
    await backlog.add(conv, CHAT, BacklogKind.POST, ["взято"], NOW, NOW, "")
    assert await backlog.expire(conv, NOW + timedelta(hours=4)) == 1
    head = await backlog.head(conv)
    assert head is not None and head.kind is BacklogKind.OPEN
    await backlog.done(head.id)
    head = await backlog.head(conv)
    assert head is not None and (head.kind, head.lost) == (BacklogKind.LOST, 1)


async def test_an_erasure_drops_what_was_kept(sessions) -> None:
    store, backlog = SqlConversationStore(sessions), SqlStaffBacklog(sessions)
    client, conv = await a_conversation(store, "1")
    await backlog.add(conv, CHAT, BacklogKind.OPEN, [], NOW, NOW, "")
    await store.erase_client(client, NOW)
    assert not await backlog.waiting(conv)
    assert await backlog.add(conv, CHAT, BacklogKind.POST, ["после"], NOW, NOW, "") is None
    assert not await backlog.waiting(conv)
