"""SqlConversationStore and the outbox tables on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from analytics.retention import purge_raw_texts
from faq.model import Candidate, Decision, MatchResult
from handlers.model import (
    Action,
    ActionKind,
    Author,
    Button,
    Channel,
    IncomingMessage,
    LastAnswer,
    Reply,
    State,
)
from handlers.ports import Escalation
from storage.conversations import SqlConversationStore
from storage.faq_suggestions import SqlFaqSuggestions, SuggestionStatus
from storage.models import (
    AuditEntry,
    Client,
    Conversation,
    FaqSuggestion,
    InboundEvent,
    Message,
    OutboxItem,
)
from storage.outbox import SqlClientTimeline, SqlDeliveryQueue
from storage.staff import SqlInboundLog

NOW = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def incoming(event: str, text: str = "вопрос", user: str = "42",
             name: str = "Мария") -> IncomingMessage:
    return IncomingMessage(Channel.VK, user, event, text, name)


async def count(sessions, model) -> int:
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)))


async def test_message_is_stored_once_per_event(sessions) -> None:
    store = SqlConversationStore(sessions)
    first = await store.record_incoming(incoming("e1"), NOW)
    assert first is not None and first.conversation.state is State.BOT
    assert await store.record_incoming(incoming("e1"), NOW) is None
    assert await count(sessions, Message) == 1
    async with sessions() as s:
        msg = await s.scalar(select(Message))
        assert msg.dedupe_key == "vk:e1" and msg.created_at == NOW


async def test_concurrent_duplicate_deliveries_store_one_row(sessions) -> None:
    store = SqlConversationStore(sessions)
    results = await asyncio.gather(*(store.record_incoming(incoming("same"), NOW)
                                     for _ in range(5)))
    assert sum(r is not None for r in results) == 1
    assert await count(sessions, Message) == 1
    assert await count(sessions, Client) == 1


async def test_annotate_escalate_and_close(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("e1"), NOW)
    match = MatchResult(Decision.CLARIFY, (Candidate("a.b", 0.61), Candidate("a.c", 0.5)))
    await store.annotate(rec.message_id, match, "family")
    esc = Escalation("family", "family", False, NOW + timedelta(hours=9), "client")
    assert await store.escalate(rec.conversation.id, esc, NOW)
    assert not await store.escalate(rec.conversation.id, esc, NOW)
    async with sessions() as s:
        conv = await s.get_one(Conversation, rec.conversation.id)
        msg = await s.get_one(Message, rec.message_id)
    assert (conv.state, conv.queue, conv.category) == ("waiting_specialist", "family", "family")
    assert conv.escalated_at == NOW and conv.due_at == NOW + timedelta(hours=9)
    assert (msg.decision, msg.faq_entry_id, msg.candidates) == ("clarify", "a.b", ["a.b", "a.c"])
    assert msg.match_score == 0.61
    # A bot answer to a side question while the client waits does not refile it.
    side = await store.record_incoming(incoming("e2"), NOW)
    await store.annotate(side.message_id, MatchResult(Decision.ANSWER, (Candidate("h.s", 0.9),)),
                         "housing")
    async with sessions() as s:
        assert (await s.get_one(Conversation, rec.conversation.id)).category == "family"
    assert await store.close(rec.conversation.id, NOW, Author.CLIENT)
    assert not await store.close(rec.conversation.id, NOW, Author.CLIENT)
    assert await store.rate(rec.conversation.id, 4, NOW)
    assert not await store.rate(rec.conversation.id, 5, NOW)


async def test_new_message_after_close_opens_new_conversation(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("e1"), NOW)
    await store.close(rec.conversation.id, NOW, Author.CLIENT)
    rating = await store.record_incoming(incoming("e2"), NOW, open_new=False)
    assert rating.conversation.id == rec.conversation.id
    again = await store.record_incoming(incoming("e3"), NOW)
    assert again.conversation.id != rec.conversation.id
    assert again.conversation.state is State.BOT


async def test_two_specialists_taking_at_once_exactly_one_wins(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("e1"), NOW)
    async with sessions.begin() as s:
        from storage.models import Specialist

        s.add_all([Specialist(login=f"s{i}", created_at=NOW) for i in (1, 2, 3, 4)])
    wins = await asyncio.gather(*(store.assign(rec.conversation.id, i, only_if_free=True)
                                  for i in (1, 2, 3, 4)))
    assert sum(wins) == 1
    async with sessions() as s:
        conv = await s.get_one(Conversation, rec.conversation.id)
    assert conv.assigned_to == [1, 2, 3, 4][wins.index(True)]


async def test_specialist_reply_is_queued_and_marks_first_reply(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("e1"), NOW)
    later = NOW + timedelta(minutes=30)
    mid = await store.record_specialist_message(rec.conversation.id, None, "Ответ", False, later)
    assert mid is not None
    note = await store.record_specialist_message(rec.conversation.id, None, "!нота", True, later)
    assert note is not None
    async with sessions() as s:
        conv = await s.get_one(Conversation, rec.conversation.id)
        items = (await s.scalars(select(OutboxItem))).all()
    assert conv.state == State.WITH_SPECIALIST and conv.first_specialist_reply_at == later
    assert [i.payload["text"] for i in items] == ["Ответ"]
    assert items[0].address == "42" and items[0].channel == "vk"


async def test_a_reply_stays_answered_after_a_release_a_transfer_or_a_disabled_account(
        sessions) -> None:
    from storage.models import Specialist
    from storage.users import SqlStaffAccounts

    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("e1"), NOW)
    assert not rec.conversation.answered
    conv_id = rec.conversation.id
    async with sessions.begin() as s:
        s.add(Specialist(login="boris", created_at=NOW))
    await store.escalate(conv_id, Escalation("general", "", False, None, "client"), NOW)
    assert await store.assign(conv_id, 1, only_if_free=True)
    assert not (await store.get(conv_id))[0].answered  # taken is not answered
    await store.record_specialist_message(conv_id, 1, "Ответ", False, NOW)
    assert await store.assign(conv_id, None, only_if_free=False)
    assert (await store.get(conv_id))[0].answered
    assert await store.transfer(conv_id, "housing", None, NOW)
    assert await store.assign(conv_id, 1, only_if_free=True)
    assert await SqlStaffAccounts(sessions).release_conversations(1) == [conv_id]
    again = await store.record_incoming(incoming("e2", "/close"), NOW, open_new=False)
    assert again.conversation.state is State.WAITING and again.conversation.answered


async def test_outbox_claim_retry_sent_and_failed(sessions) -> None:
    store = SqlConversationStore(sessions)
    queue = SqlDeliveryQueue(sessions)
    rec = await store.record_incoming(incoming("e1"), NOW)
    await store.enqueue(rec.conversation, rec.client, [Reply("a"), Reply("b")], Author.BOT, NOW)
    due = await queue.claim_due(NOW, 10)
    assert [d.reply.text for d in due] == ["a", "b"]
    assert await queue.claim_due(NOW, 10) == []  # leased: not claimed twice
    await queue.mark_sent([(due[0].id, "m-1")], NOW)
    await queue.mark_retry(due[1].id, NOW + timedelta(seconds=5), "429")
    assert await queue.claim_due(NOW + timedelta(seconds=4), 10) == []
    again = await queue.claim_due(NOW + timedelta(seconds=5), 10)
    assert [(d.reply.text, d.attempts) for d in again] == [("b", 2)]
    conv_id = await queue.mark_failed(again[0], NOW, "blocked", client_blocked=True)
    assert conv_id == rec.conversation.id
    async with sessions() as s:
        deliveries = [m.delivery for m in (await s.scalars(
            select(Message).where(Message.direction == "out").order_by(Message.id))).all()]
        client = await s.get_one(Client, rec.client.id)
    assert deliveries == ["sent", "failed"]
    assert client.blocked_at == NOW


async def test_held_deliveries_of_a_channel_come_due_at_once(sessions) -> None:
    store = SqlConversationStore(sessions)
    queue = SqlDeliveryQueue(sessions)
    rec = await store.record_incoming(incoming("e1"), NOW)
    await store.enqueue(rec.conversation, rec.client, [Reply("a")], Author.BOT, NOW)
    (held,) = await queue.claim_due(NOW, 10)
    await queue.mark_retry(held.id, NOW + timedelta(minutes=30), "VK error 5")
    assert await queue.due_now("telegram", NOW) == 0  # another channel's are left alone
    assert await queue.claim_due(NOW + timedelta(seconds=1), 10) == []
    assert await queue.due_now("vk", NOW) == 1
    assert [d.reply.text for d in await queue.claim_due(NOW, 10)] == ["a"]


async def test_timeline_shows_client_and_public_messages_only(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(
        IncomingMessage(Channel.WEB, "tok", "w1", "<b>привет</b>"), NOW)
    await store.enqueue(rec.conversation, rec.client, [Reply("ответ")], Author.BOT, NOW)
    await store.record_specialist_message(rec.conversation.id, None, "заметка", True, NOW)
    items = await SqlClientTimeline(sessions).messages_for(Channel.WEB, "tok", 0, 50)
    assert [(i.author, i.text) for i in items] == [(Author.CLIENT, "<b>привет</b>"),
                                                    (Author.BOT, "ответ")]
    other = await SqlClientTimeline(sessions).messages_for(Channel.WEB, "other", 0, 50)
    assert other == []


async def test_erase_client_keeps_counts_and_drops_texts(sessions) -> None:
    inbound = SqlInboundLog(sessions)
    # The statuses below are still waiting to be written: the erasure writes them first.
    store = SqlConversationStore(sessions, inbound=inbound)
    rec = await store.record_incoming(incoming("e1", "мой СНИЛС 112-233-445 95"), NOW)
    await inbound.keep("vk", "mine", "message_new", '{"from_id": 42, "text": "СНИЛС"}', NOW)
    await inbound.mark("vk", "mine", "processed")
    await inbound.keep("vk", "other", "message_new", '{"from_id": 7, "text": "x"}', NOW)
    await inbound.mark("vk", "other", "processed")
    await inbound.keep("vk", "pending", "message_new", '{"from_id": 42}', NOW)
    # The conversations whose copies on staff surfaces are to be flagged (EventKind.ERASED).
    assert await store.erase_client(rec.client.id, NOW) == [rec.conversation.id]
    async with sessions() as s:
        msg = await s.get_one(Message, rec.message_id)
        client = await s.get_one(Client, rec.client.id)
    assert msg.text == "" and msg.text_length == len("мой СНИЛС 112-233-445 95")
    assert client.user_id.startswith("erased:") and client.erased_at == NOW
    async with sessions() as s:
        raws = {e.dedupe_key for e in (await s.scalars(select(InboundEvent))).all()}
    assert raws == {"vk:other", "vk:pending"}
    await inbound.mark("vk", "pending", "processed")  # the erasure's last event is done
    await inbound.flush()
    fresh = await store.record_incoming(incoming("e2"), NOW)
    assert fresh.client.id != rec.client.id


async def suggested(sessions, store: SqlConversationStore, user: str, question: str,
                    reviewed: bool = False) -> int:
    """A client's question answered by a specialist and proposed for the knowledge base."""
    rec = await store.record_incoming(incoming(f"q-{user}-{question}", question, user=user), NOW)
    reply = await store.record_specialist_message(rec.conversation.id, None, "Ответ", False, NOW)
    assert reply is not None
    suggestions = SqlFaqSuggestions(sessions)
    sid = await suggestions.suggest(reply, None, NOW)
    assert sid is not None
    if reviewed:
        assert await suggestions.review(sid, SuggestionStatus.REJECTED, None, NOW)
    return rec.client.id


async def suggestion_texts(sessions) -> list[tuple[str, str, str]]:
    async with sessions() as s:
        rows = (await s.scalars(select(FaqSuggestion).order_by(FaqSuggestion.id))).all()
    return [(r.question, r.answer, r.status) for r in rows]


async def test_erasure_takes_the_clients_words_out_of_faq_suggestions(sessions) -> None:
    store = SqlConversationStore(sessions)
    client = await suggested(sessions, store, "1", "Мой телефон 8 912 345-67-89, что с пособием?")
    await suggested(sessions, store, "1", "А субсидия?", reviewed=True)
    await suggested(sessions, store, "2", "Чужой вопрос")
    await store.erase_client(client, NOW)
    # The pending one is gone; the reviewed one keeps its status without the texts.
    assert await suggestion_texts(sessions) == [("", "", "rejected"),
                                                ("Чужой вопрос", "Ответ", "new")]


async def test_retention_takes_old_faq_suggestions_too(sessions) -> None:
    store = SqlConversationStore(sessions)
    await suggested(sessions, store, "1", "Старый вопрос")
    await suggested(sessions, store, "2", "Рассмотренный вопрос", reviewed=True)
    purged = await purge_raw_texts(sessions, NOW + timedelta(days=10), days=30)
    assert purged.suggestions == 0 and len(await suggestion_texts(sessions)) == 2
    purged = await purge_raw_texts(sessions, NOW + timedelta(days=31), days=30)
    assert purged.suggestions == 2
    assert await suggestion_texts(sessions) == [("", "", "rejected")]


async def test_a_conversation_awaits_consent_until_handed_over(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("c1", "позовите специалиста"), NOW)
    assert not rec.conversation.awaiting_consent
    await store.await_consent(rec.conversation.id)
    later = await store.record_incoming(incoming("c2", "мне не пришла выплата"), NOW)
    assert later.conversation.awaiting_consent  # read with the conversation, on the hot path
    got = await store.get(rec.conversation.id)
    assert got is not None and got[0].awaiting_consent
    await store.escalate(rec.conversation.id, Escalation("general", "", False, None, "client"),
                         NOW)
    after = await store.record_incoming(incoming("c3", "ещё вопрос"), NOW)
    assert not after.conversation.awaiting_consent


async def test_declining_consent_masks_what_the_client_wrote(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("d1", "СНИЛС 112-233-445 95, ул. Ленина 5"), NOW)
    other = await store.record_incoming(incoming("d2", "тел 8 912 345-67-89", user="7"), NOW)
    await store.await_consent(rec.conversation.id)
    async with sessions.begin() as s:
        s.add_all([InboundEvent(channel="vk", dedupe_key=f"vk:{key}", raw=raw, status=status,
                                received_at=NOW)
                   for key, raw, status in (
                       ("done", '{"from_id": 42, "text": "СНИЛС 112-233-445 95"}', "processed"),
                       ("now", '{"from_id": 42, "text": "тел 8 912 345-67-89"}', "received"),
                       ("else", '{"from_id": 7, "text": "тел 8 912 345-67-89"}', "processed"))])
    await store.decline_consent(rec.conversation.id)
    async with sessions() as s:
        texts = dict((await s.execute(select(Message.conversation_id, Message.text))).all())
        raws = dict((await s.execute(select(InboundEvent.dedupe_key, InboundEvent.raw))).all())
    assert texts == {rec.conversation.id: "СНИЛС [СНИЛС], [адрес]",
                     other.conversation.id: "тел 8 912 345-67-89"}
    assert raws == {"vk:now": '{"from_id": 42, "text": "тел [телефон]"}',
                    "vk:else": '{"from_id": 7, "text": "тел 8 912 345-67-89"}'}
    again = await store.record_incoming(incoming("d3"), NOW)
    assert not again.conversation.awaiting_consent


async def test_a_client_who_declined_has_every_later_message_stored_masked(
        sessions) -> None:
    """After «Не согласен(на)» the bot says it keeps no phone or СНИЛС: the next messages,
    in this conversation or a later one, and their raw copies are stored masked until the
    client agrees; another client's are not."""
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("m1", "оператор!"), NOW)
    await store.await_consent(rec.conversation.id)
    await store.decline_consent(rec.conversation.id)
    data = "мой телефон 89001234567, СНИЛС 112-233-445 95"
    async with sessions.begin() as s:
        s.add(InboundEvent(channel="vk", dedupe_key="vk:m2", received_at=NOW,
                           raw=json.dumps({"from_id": 42, "text": data}, ensure_ascii=False)))
    later = await store.record_incoming(incoming("m2", data), NOW)
    assert later.client.declined
    await store.close(rec.conversation.id, NOW, Author.CLIENT)
    await store.record_incoming(incoming("m3", data), NOW)
    await store.record_incoming(incoming("m4", data, user="7"), NOW)
    await store.set_consent(rec.client.id, NOW)
    agreed = await store.record_incoming(incoming("m5", data), NOW)
    assert not agreed.client.declined
    masked = "мой телефон [телефон], СНИЛС [СНИЛС]"
    async with sessions() as s:
        texts = dict((await s.execute(select(Message.dedupe_key, Message.text))).all())
        raw = await s.scalar(select(InboundEvent.raw))
    assert texts == {"vk:m1": "оператор!", "vk:m2": masked, "vk:m3": masked,
                     "vk:m4": data, "vk:m5": data}
    assert json.loads(raw) == {"from_id": 42, "text": masked}


def raw_update(update_id: int, user: int, date: int = 1795963928) -> str:
    """A Telegram update as kept; the date reads as an ИНН, which masking the text broke."""
    person = {"id": user, "is_bot": False, "first_name": "Галина", "last_name": "Сергеевна",
              "username": "galina_s"}
    return json.dumps({"update_id": update_id, "callback_query": {
        "id": "cq1", "from": person, "data": "consent:decline", "message": {
            "message_id": 2, "date": date, "text": "меню",
            "chat": {"id": user, "type": "private", "first_name": "Галина"}}}},
        ensure_ascii=False)


async def test_a_client_who_declined_has_no_name_in_raw_events(sessions) -> None:
    """The refusal's own event and every later one are kept without the profile's name,
    and stay JSON that a replay reads; another client's keep theirs."""
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("r1"), NOW)
    await store.await_consent(rec.conversation.id)

    async def keep(key: str, raw: str) -> None:
        async with sessions.begin() as s:
            s.add(InboundEvent(channel="vk", dedupe_key=key, raw=raw, received_at=NOW))

    await keep("vk:decline", raw_update(1, 42))
    await keep("vk:other", raw_update(2, 7))
    await store.decline_consent(rec.conversation.id)
    await keep("vk:later", raw_update(3, 42))
    await store.record_incoming(incoming("r2", name="Галина Сергеевна"), NOW)
    async with sessions() as s:
        raws = dict((await s.execute(select(InboundEvent.dedupe_key, InboundEvent.raw))).all())
    kept = {key: json.loads(raw)["callback_query"] for key, raw in raws.items()}
    for key in ("vk:decline", "vk:later"):
        assert "Галина" not in raws[key] and "galina" not in raws[key], key
        assert kept[key]["message"]["date"] == 1795963928
    assert kept["vk:later"]["from"] == {"id": 42, "is_bot": False, "first_name": "",
                                        "last_name": "", "username": ""}
    assert raws["vk:other"] == raw_update(2, 7)


async def test_the_events_still_to_process_are_found_without_reading_the_processed(
        sessions) -> None:
    """A declined client's every message looks for their events still to process: through
    the index of pending events, not a scan of a year of processed ones (SQLite's plan)."""
    from storage.raw_names import mask_pending
    from tests.fakes import with_sqlite_plans

    _, plans = await with_sqlite_plans(
        sessions, lambda conn: conn.run_sync(mask_pending, "telegram", "42"),
        "inbound_events")
    assert plans is None or plans == [[
        "SEARCH inbound_events USING INDEX ix_inbound_events_pending (status=? AND channel=?)"]]


async def names(sessions) -> dict[str, str]:
    async with sessions() as s:
        return dict((await s.execute(select(Client.user_id, Client.display_name))).all())


async def test_a_client_who_declined_consent_has_no_name_kept_until_they_agree(
        sessions) -> None:
    """VK's users.get name comes with every message: after «Не согласен(на)» it is blanked and
    not stored again; an agreement stores it with the agreeing message's name."""
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("n1", name="Валентина Петровна"), NOW)
    await store.record_incoming(incoming("n2", user="7", name="Галина Сергеевна"), NOW)
    await store.await_consent(rec.conversation.id)
    await store.decline_consent(rec.conversation.id)
    assert await names(sessions) == {"42": "", "7": "Галина Сергеевна"}
    later = await store.record_incoming(incoming("n3", name="Валентина Петровна"), NOW)
    assert await names(sessions) == {"42": "", "7": "Галина Сергеевна"}
    await store.set_consent(rec.client.id, NOW, later.client.display_name)
    assert (await names(sessions))["42"] == "Валентина Петровна"
    await store.record_incoming(incoming("n4", name="Валентина Петровна"), NOW)
    assert (await names(sessions))["42"] == "Валентина Петровна"


async def test_idle_bot_conversations_close_at_their_last_activity(sessions) -> None:
    store = SqlConversationStore(sessions)
    old = await store.record_incoming(incoming("e1", user="1"), NOW)
    waiting = await store.record_incoming(incoming("e2", user="2"), NOW)
    await store.escalate(waiting.conversation.id,
                         Escalation("general", "", False, None, "client"), NOW)
    fresh = await store.record_incoming(incoming("e3", user="3"), NOW + timedelta(hours=23))
    later = NOW + timedelta(hours=25)
    assert await store.close_idle(later - timedelta(hours=24), later) == 1
    async with sessions() as s:
        rows = {c.id: c for c in (await s.scalars(select(Conversation))).all()}
    assert rows[old.conversation.id].state == "closed"
    assert rows[old.conversation.id].closed_at == NOW
    assert rows[old.conversation.id].closed_by == "system"
    assert rows[waiting.conversation.id].state == "waiting_specialist"
    assert rows[fresh.conversation.id].state == "bot"


async def test_open_conversation_of_a_platform_user(sessions) -> None:
    store = SqlConversationStore(sessions)
    assert await store.open_conversation_of(Channel.VK, "42") is None
    rec = await store.record_incoming(incoming("e1"), NOW)
    await store.record_incoming(IncomingMessage(Channel.WEB, "42", "w1", "x"), NOW)
    found = await store.open_conversation_of(Channel.VK, "42")
    assert found is not None and found.id == rec.conversation.id
    await store.close(rec.conversation.id, NOW, Author.CLIENT)
    assert await store.open_conversation_of(Channel.VK, "42") is None
    other = SqlConversationStore(sessions, institution_id="other")
    await other.record_incoming(incoming("e2"), NOW)
    assert await store.open_conversation_of(Channel.VK, "42") is None


async def test_recent_incoming_ids_of_a_platform_user(sessions) -> None:
    store = SqlConversationStore(sessions)
    assert await store.recent_incoming_ids(Channel.VK, "42", 5) == []
    for number in (7, 8):
        msg = IncomingMessage(Channel.VK, "42", f"m{number}", "x",
                              channel_message_id=str(number))
        rec = await store.record_incoming(msg, NOW)
    await store.record_incoming(IncomingMessage(Channel.VK, "43", "m9", "x",
                                                channel_message_id="9"), NOW)
    await store.record_incoming(IncomingMessage(Channel.WEB, "42", "w1", "x",
                                                channel_message_id="10"), NOW)
    await store.enqueue(rec.conversation, rec.client, [Reply("ответ")], Author.BOT, NOW)
    assert await store.recent_incoming_ids(Channel.VK, "42", 5) == ["8", "7"]
    assert await store.recent_incoming_ids(Channel.VK, "42", 1) == ["8"]
    await store.close(rec.conversation.id, NOW, Author.CLIENT)  # a new one opens next
    await store.record_incoming(IncomingMessage(Channel.VK, "42", "m11", "x",
                                                channel_message_id="11"), NOW)
    assert await store.recent_incoming_ids(Channel.VK, "42", 5) == ["11"]
    other = SqlConversationStore(sessions, institution_id="other")
    assert await other.recent_incoming_ids(Channel.VK, "42", 5) == []


async def test_specialist_message_sent_on_the_platform_is_not_queued(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("e1"), NOW)
    first = await store.record_specialist_message(rec.conversation.id, None, "Ответ", False,
                                                  NOW, dedupe_key="vk:reply:9", deliver=False)
    again = await store.record_specialist_message(rec.conversation.id, None, "Ответ", False,
                                                  NOW, dedupe_key="vk:reply:9", deliver=False)
    assert first is not None and again is None
    assert await count(sessions, OutboxItem) == 0
    async with sessions() as s:
        conv = await s.get_one(Conversation, rec.conversation.id)
    assert conv.state == "with_specialist" and conv.first_specialist_reply_at == NOW


async def test_client_blocks_and_allows_messages(sessions) -> None:
    store = SqlConversationStore(sessions)
    await store.record_incoming(incoming("e1"), NOW)
    await store.set_blocked(Channel.VK, "42", True, NOW)
    await store.set_blocked(Channel.TELEGRAM, "42", True, NOW)  # someone else: no effect
    async with sessions() as s:
        assert (await s.scalar(select(Client))).blocked_at == NOW
    await store.set_blocked(Channel.VK, "42", False, NOW)
    async with sessions() as s:
        assert (await s.scalar(select(Client))).blocked_at is None


async def test_last_offer_is_the_buttons_of_the_bot_s_latest_message(sessions) -> None:
    store = SqlConversationStore(sessions)
    assert await store.last_offer(Channel.VK, "42") == ()  # an unknown client
    rec = await store.record_incoming(incoming("e1", "пособие или капитал"), NOW)
    assert await store.last_offer(Channel.VK, "42") == ()  # the client spoke last
    options = ((Button("Как оформить пособие?", Action(ActionKind.ENTRY, "family.allowance")),),
               (Button("Ни один не подходит", Action(ActionKind.SPECIALIST)),))
    await store.enqueue(rec.conversation, rec.client, [Reply("Уточните", options)], Author.BOT,
                        NOW)
    assert await store.last_offer(Channel.VK, "42") == options
    assert await store.last_offer(Channel.TELEGRAM, "42") == ()  # another channel's client



async def test_retention_blanks_the_names_of_clients_not_seen_since(sessions) -> None:
    store = SqlConversationStore(sessions)
    await store.record_incoming(incoming("old", user="1", name="Петрова Мария"), NOW)
    await store.record_incoming(incoming("new", user="2", name="Иванов Пётр"),
                                NOW + timedelta(days=20))
    purged = await purge_raw_texts(sessions, NOW + timedelta(days=31), days=30)
    assert purged.names == 1
    async with sessions() as s:
        names = sorted((await s.scalars(select(Client.display_name))).all())
    assert names == ["", "Иванов Пётр"]
    # The client's next message brings the name back.
    await store.record_incoming(incoming("again", user="1", name="Петрова Мария"),
                                NOW + timedelta(days=32))
    async with sessions() as s:
        assert "Петрова Мария" in (await s.scalars(select(Client.display_name))).all()


async def test_erasure_takes_file_names_out_of_the_audit(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("a1"), NOW)
    other = await store.record_incoming(incoming("a2", user="7"), NOW)
    async with sessions.begin() as s:
        s.add_all([AuditEntry(at=NOW, actor="anna", action="desk_file",
                              object_type="conversation", object_id=str(conv_id),
                              details="message 172: Смирнов_заявление.pdf (45 B)")
                   for conv_id in (rec.conversation.id, other.conversation.id)])
    await store.erase_client(rec.client.id, NOW, by="admin")  # the admin page audits its own
    async with sessions() as s:
        rows = dict((await s.execute(select(AuditEntry.object_id, AuditEntry.details))).all())
    assert rows == {str(rec.conversation.id): "message 172",
                    str(other.conversation.id): "message 172: Смирнов_заявление.pdf (45 B)"}


async def test_a_specialist_account_without_a_name_gets_one_people_can_read(sessions) -> None:
    from handlers.texts import JinjaTexts
    from storage.models import Specialist
    from storage.staff import SqlStaffDirectory

    old = await SqlStaffDirectory(sessions, lambda: NOW).ensure("vk:100000008", "")
    staff = SqlStaffDirectory(sessions, lambda: NOW, JinjaTexts())
    manager = await staff.ensure("vk:100000009", "")  # a VK community manager
    assert await staff.ensure("vk:100000008", "") == old  # named now, same account
    named = await staff.ensure("telegram:5", "Мария Петрова")
    async with sessions() as s:
        names = {i: n for i, n in await s.execute(select(Specialist.id, Specialist.display_name))}
    assert names == {old: "Менеджер сообщества VK (id 100000008)",
                     manager: "Менеджер сообщества VK (id 100000009)",
                     named: "Мария Петрова"}


async def test_a_clients_own_erasure_is_in_the_audit(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("s1"), NOW)
    await store.erase_client(rec.client.id, NOW)
    async with sessions() as s:
        rows = (await s.execute(select(AuditEntry.actor, AuditEntry.action,
                                       AuditEntry.object_type, AuditEntry.object_id))).all()
    assert rows == [("клиент", "erase_self", "client", str(rec.client.id))]


async def test_retention_keeps_every_text_of_a_live_or_recent_conversation(sessions) -> None:
    """However old its messages' dates, a conversation still going or active since the cut-off
    keeps its texts; only one closed before the cut-off and quiet since loses them."""
    store = SqlConversationStore(sessions)
    later = NOW + timedelta(days=31)
    recs = {user: await store.record_incoming(incoming(f"r{user}", f"текст {user}", user), NOW)
            for user in ("open", "specialist", "recent", "old")}
    await store.escalate(recs["specialist"].conversation.id,
                         Escalation("general", "", False, None, "client"), NOW)
    await store.close(recs["recent"].conversation.id, NOW, Author.BOT)
    await store.close(recs["old"].conversation.id, NOW, Author.BOT)
    async with sessions.begin() as s:
        await s.execute(update(Conversation).where(
            Conversation.id == recs["recent"].conversation.id).values(
                last_activity_at=later - timedelta(hours=1)))
    purged = await purge_raw_texts(sessions, later, days=30)
    assert purged.messages == 1
    async with sessions() as s:
        texts = set((await s.scalars(select(Message.text))).all())
    assert texts == {"", "текст open", "текст specialist", "текст recent"}


async def test_the_last_answer_is_read_with_the_conversation(sessions) -> None:
    store = SqlConversationStore(sessions)
    rec = await store.record_incoming(incoming("la1", "как оформить пособие"), NOW)
    assert rec.conversation.last_answer is None
    await store.enqueue(rec.conversation, rec.client, [Reply("Пособие…", faq_entry_id="a.b")],
                        Author.BOT, NOW)
    await store.record_specialist_message(rec.conversation.id, None, "заметка", True, NOW)
    later = NOW + timedelta(minutes=5)
    follow_up = await store.record_incoming(incoming("la2", "а сколько это"), later)
    # An internal note is not something the client saw: the answer is still the last.
    assert follow_up.conversation.last_answer == LastAnswer("a.b", NOW)
    await store.enqueue(rec.conversation, rec.client, [Reply("Меню")], Author.BOT, later)
    after_menu = await store.record_incoming(incoming("la3", "а где это"), later)
    assert after_menu.conversation.last_answer is None
