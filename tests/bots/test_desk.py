"""The specialists' web desk over HTTP on a real database: list, take, reply, notes, events."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from faq.model import Entry
from handlers.event_ports import ConversationEvent, EventKind
from handlers.model import Action, Attachment, AttachmentKind, Channel, IncomingMessage
from handlers.platform_ports import FileData, FileUnavailable
from handlers.reminders import ReminderJob
from priemnaya.runtime import Runtime, build_runtime
from priemnaya.settings import Settings, default_queues
from priemnaya.webapp import build_app
from storage.desk_queries import SqlReplyTargets
from storage.models import AuditEntry, Conversation, FaqSuggestion, Message, StoredFile
from tests.bots.staff import Browser, add_staff, log_in, page_csrf
from tests.bots.vk.conftest import until
from tests.fakes import Clock, FakeFaq, FakeNotifier

REDIS_URL = os.environ.get("PRIEMNAYA_TEST_REDIS", "")


class FakeEditor:
    def __init__(self) -> None:
        self.entries: list[Entry] = []

    async def add_entry(self, entry: Entry) -> None:
        if any(e.id == entry.id for e in self.entries):
            raise ValueError("duplicate id")
        self.entries.append(entry)


@dataclass
class Desk:
    server: TestServer
    rt: Runtime
    clock: Clock
    ids: dict[str, int]
    editor: FakeEditor

    def client(self) -> Browser:
        return Browser(self.server)


@pytest.fixture
async def desk(database_url: str) -> AsyncIterator[Desk]:
    clock = Clock()  # Monday 2026-11-23 15:00 in Yekaterinburg: working time
    settings = Settings(database={"url": database_url})
    rt = build_runtime(settings, FakeFaq(), clock=clock)
    rt.kb_editor = editor = FakeEditor()
    ids = await add_staff(rt, clock)
    server = TestServer(build_app(rt, start_background=False))
    await server.start_server()
    yield Desk(server, rt, clock, ids, editor)
    await server.close()
    await rt.engine.dispose()


async def waiting_conversation(rt: Runtime, user: str = "client-token-0001",
                               name: str = "Мария Ивановна",
                               question: str = "Как получить путёвку в санаторий?") -> int:
    for n, (text, action) in enumerate(((question, None),
                                        ("", "consent:specialist"))):
        from handlers.model import Action

        await rt.reception.handle(IncomingMessage(
            Channel.WEB, user, f"{user}-{n}", text, display_name=name,
            action=Action.parse(action) if action else None))
    async with rt.sessions() as s:
        conv = await s.scalar(select(Conversation).order_by(Conversation.id.desc()))
    assert conv.state == "waiting_specialist"
    return conv.id


async def staff_client(desk: Desk, login: str) -> Browser:
    c = desk.client()
    assert (await log_in(c, login)).status == 303
    return c


async def post(c: Browser, path: str, **data: str):
    token = await page_csrf(c, "/desk/")
    return await c.post(path, data={"csrf_token": token, **data}, allow_redirects=False)


async def audit(desk: Desk, action: str) -> list[str]:
    async with desk.rt.sessions() as s:
        rows = (await s.scalars(select(AuditEntry).where(AuditEntry.action == action))).all()
    return [r.actor for r in rows]


async def test_list_shows_waiting_conversation_with_time_left(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt)
    c = await staff_client(desk, "anna")
    desk.clock.advance(hours=1)
    page = await (await c.get("/desk/")).text()
    assert f'href="/desk/c/{conv}"' in page
    assert "М. И." in page and "Мария" not in page  # waiting: nobody's, so initials
    assert "ждёт специалиста" in page
    assert "1 ч 00 мин" in page  # waiting
    assert "осталось 8 ч 00 мин" in page  # of the 9-hour target, in working time
    desk.clock.advance(hours=24)
    await c.close()
    c = await staff_client(desk, "anna")  # the session ended after 12 idle hours
    partial = await (await c.get("/desk/?partial=1")).text()
    assert "row-late" in partial and "просрочено" in partial
    assert "<nav" not in partial
    await c.close()


async def test_a_closed_conversation_shows_when_it_closed_not_a_countdown(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0045")
    desk.clock.advance(minutes=5)
    for n, action in enumerate(("close", "close:confirmed")):
        await desk.rt.reception.handle(IncomingMessage(
            Channel.WEB, "client-token-0045", f"close-{n}", action=Action.parse(action)))
    desk.clock.advance(hours=30)  # past the target: it would read «просрочено»
    c = await staff_client(desk, "anna")
    for path in (f"/desk/c/{conv}", f"/desk/c/{conv}?partial=1"):
        page = await (await c.get(path)).text()
        assert "закрыто" in page and "Закрыто 23.11.2026 15:05" in page
        assert "Ждёт" not in page and "осталось" not in page and "просрочено" not in page
    await c.close()


async def test_a_target_cut_after_the_hand_over_moves_neither_the_desk_nor_the_breach(
        desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0033")  # due in 9 working h
    # The administrator cuts the general queue's target to 4 h and restarts the service.
    queues = [q.model_copy(update={"first_reply_hours": 4}) if q.id == "general" else q
              for q in default_queues()]
    settings = Settings(database={"url": desk.rt.settings.database.url}, queues=queues)
    rt = build_runtime(settings, FakeFaq(), clock=desk.clock)
    server = TestServer(build_app(rt, start_background=False))
    await server.start_server()
    job = ReminderJob(SqlReplyTargets(rt.sessions), rt.directory, FakeNotifier(), desk.clock)

    async def shown(path: str) -> str:
        c = Browser(server)  # a new sign-in: a desk session ends after 12 idle hours
        assert (await log_in(c, "anna")).status == 303
        page = await (await c.get(path)).text()
        await c.close()
        return page

    try:
        desk.clock.advance(hours=1)
        assert "осталось 8 ч 00 мин" in await shown(f"/desk/c/{conv}")  # not the new 3 h
        # Tuesday 11:00: 5 working hours, late by the new target, not by the one kept.
        desk.clock.advance(hours=19)
        listed = await shown("/desk/?partial=1")
        assert "row-late" not in listed and "осталось 4 ч 00 мин" in listed
        assert [e.kind for e in await job.tick()] == []
        desk.clock.advance(hours=4, minutes=1)  # Tuesday 15:01, past the deadline kept
        assert [e.kind for e in await job.tick()] == [EventKind.BREACH]
        assert "row-late" in await shown("/desk/?partial=1")
    finally:
        await server.close()
        await rt.engine.dispose()


async def test_an_answered_conversation_says_when_it_was_answered(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0014")
    anna = await staff_client(desk, "anna")
    desk.clock.advance(minutes=4)
    await post(anna, f"/desk/c/{conv}/reply", text="Здравствуйте! Сейчас отвечу.")
    desk.clock.advance(minutes=10)
    listed = await (await anna.get("/desk/?partial=1")).text()
    assert "ответили через 4 мин" in listed and "ответ через" not in listed
    assert listed.count("4 мин") == 1  # answered: no longer «ждёт» in the waiting column
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    assert "Ответили через 4 мин" in page and "Ждёт" not in page
    await anna.close()


async def test_anonymous_desk_goes_to_login(desk: Desk) -> None:
    c = desk.client()
    r = await c.get("/desk/", allow_redirects=False)
    assert r.status == 303
    assert r.headers["Location"].startswith("/login?next=")
    await c.close()


async def test_two_specialists_take_at_once_and_exactly_one_wins(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt)
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")
    tokens = [await page_csrf(c, f"/desk/c/{conv}") for c in (anna, oleg)]
    results = await asyncio.gather(*(
        c.post(f"/desk/c/{conv}/take", data={"csrf_token": t}, allow_redirects=False)
        for c, t in zip((anna, oleg), tokens, strict=True)))
    outcomes = sorted(r.headers["Location"].split("?")[1] for r in results)
    assert outcomes == ["done=taken", "error=taken"]
    winner = "anna" if "done" in results[0].headers["Location"] else "oleg"
    async with desk.rt.sessions() as s:
        assert (await s.get(Conversation, conv)).assigned_to == desk.ids[winner]
    assert await audit(desk, "desk_take") == [winner]
    await anna.close()
    await oleg.close()


async def test_reply_reaches_the_web_chat_and_notes_do_not(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0002")
    anna = await staff_client(desk, "anna")
    r = await post(anna, f"/desk/c/{conv}/reply", text="Здравствуйте! Путёвку дают раз в год.")
    assert r.headers["Location"] == f"/desk/c/{conv}?done=replied"
    r = await post(anna, f"/desk/c/{conv}/note", text="Проверить очередь на путёвки")
    assert r.headers["Location"] == f"/desk/c/{conv}?done=noted"
    client = desk.client()
    client.session.cookie_jar.update_cookies({"priemnaya_client": "client-token-0002"})
    messages = (await (await client.get("/api/chat/messages?after=0")).json())["messages"]
    assert messages[-1]["author"] == "specialist"
    assert messages[-1]["text"] == "Здравствуйте! Путёвку дают раз в год."
    assert all("Проверить очередь" not in m["text"] for m in messages)
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    assert "Внутренняя заметка" in page and "Проверить очередь на путёвки" in page
    assert "Как получить путёвку в санаторий?" in page
    async with desk.rt.sessions() as s:
        row = await s.get(Conversation, conv)
        assert (row.state, row.assigned_to) == ("with_specialist", desk.ids["anna"])
    assert await audit(desk, "desk_reply") == ["anna"]
    await anna.close()
    await client.close()


PERSONAL = ("Меня зовут Сидорова Мария Петровна, телефон +7 912 345-67-89, "
            "почта maria.s@example.ru, СНИЛС 112-233-445 95, карта 4111 1111 1111 1111")
SECRETS = ("Сидорова Мария Петровна", "345-67-89", "maria.s@example.ru", "112-233-445 95",
           "4111 1111 1111 1111")
LABELS = ("[ФИО]", "[телефон]", "[e-mail]", "[СНИЛС]", "[карта]")


async def assert_masked(c: Browser, conv: int) -> None:
    for path in (f"/desk/c/{conv}", f"/desk/c/{conv}?partial=1"):
        page = await (await c.get(path)).text()
        assert not [s for s in SECRETS if s in page], path
        assert all(label in page for label in LABELS), path


async def assert_in_full(c: Browser, conv: int) -> None:
    for path in (f"/desk/c/{conv}", f"/desk/c/{conv}?partial=1"):
        assert PERSONAL in await (await c.get(path)).text(), path


async def test_only_the_assigned_specialist_reads_the_client_in_full(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0013")
    await desk.rt.reception.handle(IncomingMessage(
        Channel.WEB, "client-token-0013", "personal", PERSONAL))
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")
    boss = await staff_client(desk, "boss")
    for c in (anna, oleg, boss):  # waiting: nobody's yet
        await assert_masked(c, conv)
    await post(anna, f"/desk/c/{conv}/take")
    await assert_in_full(anna, conv)
    for c in (oleg, boss):
        await assert_masked(c, conv)
    await post(anna, f"/desk/c/{conv}/release")
    await assert_masked(anna, conv)
    for c in (anna, oleg, boss):
        await c.close()


async def test_only_the_assignee_reads_the_clients_name(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0015",
                                      name="Сидорова Мария Петровна")
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")
    # Waiting, anyone may answer it: ready replies greet without the name until it is taken.
    waiting = await (await oleg.get(f"/desk/c/{conv}")).text()
    assert "Сидорова" not in waiting and 'data-text="Здравствуйте! Меня зовут' in waiting
    await post(anna, f"/desk/c/{conv}/take")
    assert 'data-text="Здравствуйте, Сидорова Мария Петровна!' in (
        await (await anna.get(f"/desk/c/{conv}")).text())
    for path in ("/desk/?queue=*", "/desk/?queue=*&partial=1", f"/desk/c/{conv}",
                 f"/desk/c/{conv}?partial=1"):
        assert "Сидорова Мария Петровна" in await (await anna.get(path)).text(), path
        page = await (await oleg.get(path)).text()
        assert "Сидорова" not in page and "С. М. П." in page, path
    await anna.close()
    await oleg.close()


async def test_the_clients_own_first_name_alone_reads_masked(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0016",
                                      name="Валентина Петровна",
                                      question="Пишет вам Валентина, вопрос о льготах")
    oleg = await staff_client(desk, "oleg")
    page = await (await oleg.get(f"/desk/c/{conv}")).text()
    assert "Валентин" not in page and "Пишет вам [ФИО], вопрос о льготах" in page
    await oleg.close()


async def test_colleague_sees_masked_numbers_and_cannot_act(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0003")
    await desk.rt.reception.handle(IncomingMessage(
        Channel.WEB, "client-token-0003", "snils", "Мой СНИЛС 11223344595"))
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")
    await post(anna, f"/desk/c/{conv}/take")
    assert "11223344595" in await (await anna.get(f"/desk/c/{conv}")).text()
    page = await (await oleg.get(f"/desk/c/{conv}")).text()
    assert "11223344595" not in page and "Мой СНИЛС [СНИЛС]" in page
    assert 'id="reply-form"' not in page
    r = await post(oleg, f"/desk/c/{conv}/reply", text="Чужой ответ")
    assert r.headers["Location"] == f"/desk/c/{conv}?error=not_yours"
    await anna.close()
    await oleg.close()


async def test_taking_again_says_whose_it_is(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0007")
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")
    assert (await post(anna, f"/desk/c/{conv}/take")).headers["Location"].endswith("done=taken")
    again = await post(anna, f"/desk/c/{conv}/take")
    assert again.headers["Location"].endswith("error=already_yours")
    page = await (await anna.get(again.headers["Location"])).text()
    assert "Обращение уже у вас в работе." in page
    other = await post(oleg, f"/desk/c/{conv}/take")
    assert other.headers["Location"].endswith("error=taken")
    await post(anna, f"/desk/c/{conv}/close", confirmed="1")
    late = await post(oleg, f"/desk/c/{conv}/take")
    assert late.headers["Location"].endswith("error=closed")
    assert await audit(desk, "desk_take") == ["anna"]
    await anna.close()
    await oleg.close()


async def test_release_transfer_and_close(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0004")
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/take")
    r = await post(anna, f"/desk/c/{conv}/release")
    assert r.headers["Location"].endswith("done=released")
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    chosen = re.search(r'<select name="queue"[^>]*>\s*<option value="" selected>([^<]+)<', page)
    assert chosen and chosen.group(1) == "— выберите очередь —"  # no queue chosen for her
    r = await post(anna, f"/desk/c/{conv}/transfer", queue="")
    assert r.headers["Location"].endswith("error=no_queue")
    refused = await (await anna.get(r.headers["Location"])).text()
    assert "Не передано: выберите очередь, в которую передать обращение." in refused
    r = await post(anna, f"/desk/c/{conv}/transfer", queue="nowhere")
    assert r.headers["Location"].endswith("error=unknown_queue")
    r = await post(anna, f"/desk/c/{conv}/transfer", queue="urgent")
    assert r.headers["Location"].endswith("done=transferred")
    r = await post(anna, f"/desk/c/{conv}/close", confirmed="1")
    assert r.headers["Location"].endswith("done=closed")
    async with desk.rt.sessions() as s:
        row = await s.get(Conversation, conv)
    assert (row.queue, row.state, row.assigned_to) == ("urgent", "closed", None)
    page = await (await anna.get("/desk/")).text()
    assert f'href="/desk/c/{conv}"' not in page
    assert [a for a in await audit(desk, "desk_release")] == ["anna"]
    await anna.close()


async def test_closing_asks_first_and_an_unanswered_close_asks_no_rating(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0046")
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/take")
    r = await post(anna, f"/desk/c/{conv}/close")
    assert r.headers["Location"] == f"/desk/c/{conv}?confirm=close"
    page = await (await anna.get(r.headers["Location"])).text()
    assert "Клиенту ещё никто не ответил." in page and 'name="confirmed" value="1"' in page
    async with desk.rt.sessions() as s:
        assert (await s.get_one(Conversation, conv)).state == "waiting_specialist"
    r = await post(anna, f"/desk/c/{conv}/close", confirmed="1")
    assert r.headers["Location"].endswith("done=closed")
    async with desk.rt.sessions() as s:
        last = await s.scalar(select(Message).order_by(Message.id.desc()).limit(1))
    assert last.text.startswith("Обращение закрыто специалистом.")
    assert "rate:" not in json.dumps(last.buttons)
    await anna.close()


async def test_closing_an_answered_conversation_asks_for_a_rating(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0047")
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/take")
    await post(anna, f"/desk/c/{conv}/reply", text="Путёвку дают раз в год.")
    r = await post(anna, f"/desk/c/{conv}/close")
    page = await (await anna.get(r.headers["Location"])).text()
    assert "Клиента попросят оценить ответ." in page
    await post(anna, f"/desk/c/{conv}/close", confirmed="1")
    async with desk.rt.sessions() as s:
        last = await s.scalar(select(Message).order_by(Message.id.desc()).limit(1))
    assert last.text.startswith("Специалист завершил обращение. Оцените")
    await anna.close()


async def test_a_refused_transfer_says_the_one_reason_that_applies(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0031")
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")

    async def refused(who: Browser, queue: str, reason: str) -> str:
        r = await post(who, f"/desk/c/{conv}/transfer", queue=queue)
        assert r.headers["Location"] == f"/desk/c/{conv}?error={reason}"
        return await (await who.get(r.headers["Location"])).text()

    page = await refused(anna, "nowhere", "unknown_queue")
    assert "Не передано: такой очереди нет. Очереди: «Общие вопросы», " in page
    assert "«Срочные обращения»" in page and "уже закрыто" not in page
    # Both pages offered «Срочные обращения»: Oleg's transfer came first.
    assert (await post(oleg, f"/desk/c/{conv}/transfer", queue="urgent")).headers[
        "Location"].endswith("done=transferred")
    page = await refused(anna, "urgent", "same_queue")
    assert "Не передано: обращение уже в очереди «Срочные обращения»." in page
    assert "такой очереди нет" not in page
    await post(oleg, f"/desk/c/{conv}/close", confirmed="1")
    page = await refused(anna, "general", "transfer_closed")
    assert "Не передано: обращение уже закрыто." in page
    await anna.close()
    await oleg.close()


async def test_an_action_from_a_page_drawn_before_a_colleagues_move_is_refused(
        desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0048")
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")

    async def holder(who: Browser) -> str:
        page = await (await who.get(f"/desk/c/{conv}")).text()
        found = re.search(r'name="holder" value="([^"]*)"', page)
        assert found is not None
        return found.group(1)

    seen_by_anna, seen_by_oleg = await holder(anna), await holder(oleg)
    r = await post(anna, f"/desk/c/{conv}/transfer", queue="urgent", holder=seen_by_anna)
    assert r.headers["Location"].endswith("done=transferred")
    # 80 ms later Oleg, whose page still showed the general queue, closes it.
    r = await post(oleg, f"/desk/c/{conv}/close", confirmed="1", holder=seen_by_oleg)
    assert r.headers["Location"] == f"/desk/c/{conv}?error=changed"
    page = await (await oleg.get(r.headers["Location"])).text()
    assert "Не выполнено: обращение тем временем передали в другую очередь" in page
    r = await post(oleg, f"/desk/c/{conv}/transfer", queue="family", holder=seen_by_oleg)
    assert r.headers["Location"] == f"/desk/c/{conv}?error=changed"
    async with desk.rt.sessions() as s:
        row = await s.get_one(Conversation, conv)
    assert (row.queue, row.state) == ("urgent", "waiting_specialist")
    assert await audit(desk, "desk_close") == []
    r = await post(oleg, f"/desk/c/{conv}/close", confirmed="1", holder=await holder(oleg))
    assert r.headers["Location"].endswith("done=closed")  # drawn anew, it goes through
    await anna.close()
    await oleg.close()


async def test_a_transfer_beaten_by_a_colleagues_move_says_so(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0032")
    anna = await staff_client(desk, "anna")
    store, transfer = desk.rt.store, desk.rt.store.transfer

    async def beaten(conversation_id: int, queue: str, *args: object) -> bool:
        # Another transfer lands between the page's read and this one's update.
        await transfer(conversation_id, "family", None, desk.clock())
        return False

    store.transfer = beaten  # type: ignore[method-assign]
    r = await post(anna, f"/desk/c/{conv}/transfer", queue="urgent")
    assert r.headers["Location"] == f"/desk/c/{conv}?error=not_transferred"
    page = await (await anna.get(r.headers["Location"])).text()
    assert "Не передано: обращение тем временем передали в другую очередь или закрыли." in page
    await anna.close()


async def test_a_transfer_puts_it_in_the_new_queues_waiting_list(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0011")
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")
    await post(anna, f"/desk/c/{conv}/take")
    await post(anna, f"/desk/c/{conv}/reply", text="Сейчас уточню.")
    r = await post(anna, f"/desk/c/{conv}/transfer", queue="urgent")
    assert r.headers["Location"].endswith("done=transferred")
    waiting = await (await oleg.get("/desk/?queue=urgent&state=waiting_specialist")).text()
    assert f'href="/desk/c/{conv}"' in waiting
    page = await (await oleg.get(f"/desk/c/{conv}")).text()
    assert "Передано из очереди «Общие вопросы» в очередь «Срочные обращения»" in page
    assert 'id="take"' in page
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    assert 'id="transferred-away"' in page and 'id="reply-form"' not in page
    assert 'id="reply-form"' in await (await oleg.get(f"/desk/c/{conv}")).text()
    # Anna's page was still open: her reply is refused, visibly, and the client gets nothing.
    r = await post(anna, f"/desk/c/{conv}/reply", text="Вот ответ")
    assert r.headers["Location"] == f"/desk/c/{conv}?error=transferred_away"
    page = await (await anna.get(r.headers["Location"])).text()
    assert "вы передали обращение в другую очередь" in page
    async with desk.rt.sessions() as s:
        row = await s.get(Conversation, conv)
        sent = await s.scalar(select(func.count()).where(Message.text == "Вот ответ"))
    assert (row.state, row.assigned_to, sent) == ("waiting_specialist", None, 0)
    r = await post(oleg, f"/desk/c/{conv}/reply", text="Отвечаю из срочной очереди.")
    assert r.headers["Location"].endswith("done=replied")
    await anna.close()
    await oleg.close()


async def test_desk_post_without_csrf_is_refused(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0005")
    anna = await staff_client(desk, "anna")
    r = await anna.post(f"/desk/c/{conv}/take", allow_redirects=False)
    assert r.status == 403
    async with desk.rt.sessions() as s:
        assert (await s.get(Conversation, conv)).assigned_to is None
    await anna.close()


async def test_canned_response_uses_the_client_name(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0006", name="Пётр")
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/take")  # the name is the assignee's to read
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    assert 'data-text="Здравствуйте, Пётр! Меня зовут Anna' in page
    assert ">Приветствие</option>" in page
    await anna.close()


async def test_events_stream_tells_about_a_take(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0007")
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")
    stream = await anna.get("/desk/events")
    assert stream.headers["Content-Type"].startswith("text/event-stream")
    assert await stream.content.readline() == b"retry: 3000\n"
    await post(oleg, f"/desk/c/{conv}/take")
    lines = []
    while not lines or not lines[-1].startswith(b"data:"):
        lines.append((await asyncio.wait_for(stream.content.readline(), 5)).strip())
    assert json.loads(lines[-1][5:]) == {"kind": "assigned", "id": conv}
    stream.close()
    await anna.close()
    await oleg.close()


async def test_a_release_reaches_the_other_replicas_desks(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0031")
    other = FakeNotifier()  # another replica, as the Redis event bus is one of these
    desk.rt.notifier.add(other)
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/take")
    with desk.rt.desk_hub.subscribe() as own_pages:
        r = await post(anna, f"/desk/c/{conv}/release")
        assert r.headers["Location"].endswith("done=released")
        # Naming who released it, for the Telegram topic's notice.
        released = ConversationEvent(EventKind.RELEASED, conv, text=str(desk.ids["anna"]))
        assert own_pages.get_nowait() == released
    assert other.events[-1] == released
    await anna.close()


@pytest.mark.skipif(not REDIS_URL, reason="needs PRIEMNAYA_TEST_REDIS=redis://HOST:PORT/DB")
async def test_two_replicas_desk_pages_see_each_others_releases(
        desk: Desk, database_url: str) -> None:
    """The second replica: its own runtime and server on the same database and Redis."""
    institution = {"id": f"t{uuid.uuid4().hex[:12]}"}
    replicas = [build_runtime(Settings(database={"url": database_url}, institution=institution,
                                       redis={"url": REDIS_URL}), FakeFaq(), clock=desk.clock)
                for _ in range(2)]
    servers = [TestServer(build_app(rt)) for rt in replicas]
    for server in servers:
        await server.start_server()
    try:
        await until(lambda: all(rt.event_bus and rt.event_bus.connected for rt in replicas))
        conv = await waiting_conversation(replicas[0], user="client-token-0032")
        anna, oleg = Browser(servers[0]), Browser(servers[1])
        try:
            assert (await log_in(anna, "anna")).status == 303
            assert (await log_in(oleg, "oleg")).status == 303
            await post(anna, f"/desk/c/{conv}/take")
            stream = await oleg.get("/desk/events")
            assert await stream.content.readline() == b"retry: 3000\n"
            await post(anna, f"/desk/c/{conv}/release")
            # The take's own event travels through Redis too and may come first.
            events: list[dict[str, object]] = []
            while {"kind": "released", "id": conv} not in events:
                line = (await asyncio.wait_for(stream.content.readline(), 5)).strip()
                if line.startswith(b"data:"):
                    events.append(json.loads(line[5:]))
            assert events[-1] == {"kind": "released", "id": conv}
            assert all(e == {"kind": "assigned", "id": conv} for e in events[:-1])
            stream.close()
        finally:
            await anna.close()
            await oleg.close()
    finally:
        for server in servers:
            await server.close()
        for rt in replicas:
            await rt.engine.dispose()


async def test_suggest_for_faq_and_admin_accepts(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0008")
    # Said while waiting: not the question the reply answers.
    for n, text in enumerate(("алло?", "+7 912 345-67-89", "спасибо")):
        await desk.rt.reception.handle(IncomingMessage(
            Channel.WEB, "client-token-0008", f"later-{n}", text))
    anna, boss = await staff_client(desk, "anna"), await staff_client(desk, "boss")
    r = await post(anna, f"/desk/c/{conv}/reply", text="Путёвку выдают раз в год.",
                   suggest_faq="1")
    assert r.headers["Location"].endswith("done=replied_suggested")
    assert (await anna.get("/desk/suggestions")).status == 403
    page = await (await boss.get("/desk/suggestions")).text()
    assert ">Как получить путёвку в санаторий?</textarea>" in page
    assert "Путёвку выдают раз в год." in page
    async with desk.rt.sessions() as s:
        suggestion = await s.scalar(select(FaqSuggestion))
    r = await post(boss, f"/desk/suggestions/{suggestion.id}/accept",
                   question="Как получить путёвку?", answer="Раз в год по заявлению.",
                   category="family", entry_id="family.voucher")
    assert r.headers["Location"].startswith("/desk/suggestions?done=accepted")
    assert desk.editor.entries == [Entry("family.voucher", "family", "Как получить путёвку?",
                                         "Раз в год по заявлению.")]
    r = await post(boss, f"/desk/suggestions/{suggestion.id}/reject")
    assert "error=reviewed" in r.headers["Location"]
    assert await audit(desk, "faq_accept") == ["boss"]
    await anna.close()
    await boss.close()


async def test_bad_suggestion_fields_are_refused(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0009")
    anna, boss = await staff_client(desk, "anna"), await staff_client(desk, "boss")
    await post(anna, f"/desk/c/{conv}/reply", text="Ответ")
    async with desk.rt.sessions() as s:
        message_id = await s.scalar(select(func.max(Message.id)))
    r = await post(anna, f"/desk/c/{conv}/suggest", message_id=str(message_id))
    assert r.headers["Location"].endswith("done=suggested")
    async with desk.rt.sessions() as s:
        suggestion = await s.scalar(select(FaqSuggestion))
    for fields, error in (({"category": "nope", "entry_id": "a.b"}, "Выберите раздел."),
                          ({"category": "family", "entry_id": "Плохой id"},
                           "Идентификатор записи: латинские буквы"),
                          ({"category": "family", "entry_id": "family.allowance"},
                           "Запись с таким идентификатором уже есть.")):
        r = await post(boss, f"/desk/suggestions/{suggestion.id}/accept",
                       question="В", answer="О", **fields)
        assert r.status == 422 and error in await r.text()
    assert desk.editor.entries == []
    r = await post(boss, f"/desk/suggestions/{suggestion.id}/reject")
    assert "done=rejected" in r.headers["Location"]
    await anna.close()
    await boss.close()


async def test_a_suggestion_with_markup_is_refused(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0016")
    anna, boss = await staff_client(desk, "anna"), await staff_client(desk, "boss")
    await post(anna, f"/desk/c/{conv}/reply", text="Ответ", suggest_faq="1")
    async with desk.rt.sessions() as s:
        suggestion = await s.scalar(select(FaqSuggestion))
    new = {"category": "family", "entry_id": "family.new"}
    for question, answer in (("<b>Пособие</b>?", "О"), ("В", 'Смотрите <a href="x">тут</a>'),
                             ("В", "О<!-- заметка -->")):
        r = await post(boss, f"/desk/suggestions/{suggestion.id}/accept",
                       question=question, answer=answer, **new)
        page = await r.text()
        assert r.status == 422 and "есть HTML-разметка (например, &lt;b&gt;" in page
    # A «<» that opens no tag is ordinary text, accepted as written.
    r = await post(boss, f"/desk/suggestions/{suggestion.id}/accept",
                   question="Если ребёнку < 3 лет?", answer="Да, если доход <2 прожиточных",
                   **new)
    assert r.headers["Location"].startswith("/desk/suggestions?done=accepted")
    assert [e.question for e in desk.editor.entries] == ["Если ребёнку < 3 лет?"]
    await anna.close()
    await boss.close()


async def test_a_refused_suggestion_keeps_the_administrators_edits(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0012")
    anna, boss = await staff_client(desk, "anna"), await staff_client(desk, "boss")
    await post(anna, f"/desk/c/{conv}/reply", text="Путёвку выдают раз в год.",
               suggest_faq="1")
    async with desk.rt.sessions() as s:
        suggestion = await s.scalar(select(FaqSuggestion))
    r = await post(boss, f"/desk/suggestions/{suggestion.id}/accept",
                   question="Как часто дают путёвку в санаторий?",
                   answer="Путёвку дают раз в год по заявлению в отделе соцзащиты.",
                   category="family", entry_id="Путёвка")
    page = await r.text()
    assert r.status == 422 and "Идентификатор записи: латинские буквы" in page
    assert ">Как часто дают путёвку в санаторий?</textarea>" in page
    assert ">Путёвку дают раз в год по заявлению в отделе соцзащиты.</textarea>" in page
    assert 'name="entry_id" value="Путёвка"' in page
    assert '<option value="family" selected>' in page
    assert "Как получить путёвку в санаторий?" not in page  # not the original question
    assert desk.editor.entries == []
    await anna.close()
    await boss.close()


async def test_a_suggested_answer_is_offered_masked(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0015")
    anna, boss = await staff_client(desk, "anna"), await staff_client(desk, "boss")
    await post(anna, f"/desk/c/{conv}/reply", suggest_faq="1",
               text="Здравствуйте, Анна Петровна! Перезвоню вам на 89123456789.")
    page = await (await boss.get("/desk/suggestions")).text()
    assert "Анна Петровна" not in page and "89123456789" not in page
    assert ">Здравствуйте, [ФИО]! Перезвоню вам на [телефон].</textarea>" in page
    assert "перепишите вопрос и ответ" in page
    await anna.close()
    await boss.close()


async def test_a_suggestion_cannot_publish_a_clients_personal_data(desk: Desk) -> None:
    # The question of an accepted suggestion is shown to every client (clarifying buttons).
    conv = await waiting_conversation(
        desk.rt, user="client-token-0011", question="Отказали в субсидии, мой телефон "
        "+7 912 345-67-89, СНИЛС 123-456-789 01")
    anna, boss = await staff_client(desk, "anna"), await staff_client(desk, "boss")
    await post(anna, f"/desk/c/{conv}/reply", text="Позвоните нам: 8 (343) 371-00-00.",
               suggest_faq="1")
    page = await (await boss.get("/desk/suggestions")).text()
    assert "345-67-89" not in page and "123-456-789" not in page
    assert "мой телефон [телефон], СНИЛС [СНИЛС]" in page
    async with desk.rt.sessions() as s:
        suggestion = await s.scalar(select(FaqSuggestion))
    accept = f"/desk/suggestions/{suggestion.id}/accept"
    fields = {"category": "family", "entry_id": "family.subsidy-refused"}
    r = await post(boss, accept, question="Отказали, СНИЛС 123-456-789 01", answer="Ответ",
                   **fields)
    assert r.status == 422 and "В вопросе остались персональные данные" in await r.text()
    r = await post(boss, accept, question="Отказали в субсидии",
                   answer="Ваш паспорт 6512 345678 проверен", **fields)
    assert r.status == 422 and "В ответе есть персональные данные" in await r.text()
    r = await post(boss, accept, question="Отказали в субсидии",
                   answer="Здравствуйте, Анна Петровна! Подайте заявление снова.", **fields)
    assert r.status == 422 and "В ответе есть персональные данные" in await r.text()
    # Accepted as offered, the masked question would show «[телефон]» on a client's button.
    r = await post(boss, accept, question="Отказали в субсидии, мой телефон [телефон]",
                   answer="Ответ", **fields)
    assert r.status == 422 and "В вопросе осталась метка скрытых данных «[телефон]»" \
        in await r.text()
    assert desk.editor.entries == []
    # The institution's own phone in an answer is no one's personal data to refuse.
    r = await post(boss, accept, question="Отказали в субсидии",
                   answer="Позвоните нам: 8 (343) 371-00-00.", **fields)
    assert r.headers["Location"].startswith("/desk/suggestions?done=accepted")
    assert [e.question for e in desk.editor.entries] == ["Отказали в субсидии"]
    await anna.close()
    await boss.close()


async def test_the_desk_says_which_button_the_client_pressed(desk: Desk) -> None:
    user = "client-token-0012"
    conv = await waiting_conversation(desk.rt, user=user)
    await desk.rt.reception.handle(IncomingMessage(
        Channel.WEB, user, "press", "", action=Action.parse("entry:family.allowance")))
    await desk.rt.reception.handle(IncomingMessage(
        Channel.WEB, user, "decline", "", action=Action.parse("consent:decline")))
    await desk.rt.reception.handle(IncomingMessage(
        Channel.WEB, user, "close", "", action=Action.parse("close")))
    await desk.rt.reception.handle(IncomingMessage(
        Channel.WEB, user, "keep", "", action=Action.parse("close:keep")))
    anna = await staff_client(desk, "anna")
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    assert "нажата кнопка «завершить обращение»" in page
    assert "решил(а) дождаться ответа, не отменять вопрос" in page
    assert "дано согласие на обработку персональных данных" in page
    assert "отказ от согласия на обработку персональных данных" in page
    assert "выбран вопрос «Как оформить единое пособие?»" in page
    assert "нажата кнопка<" not in page
    await anna.close()


async def test_hostile_input_gets_clear_answers(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0010")
    await desk.rt.reception.handle(IncomingMessage(
        Channel.WEB, "client-token-0010", "xss", "<script>alert(1)</script>"))
    anna = await staff_client(desk, "anna")
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    missing = await anna.get("/desk/c/999999")
    assert missing.status == 404 and "Не найдено" in await missing.text()
    assert (await anna.get("/desk/c/abc")).status == 404
    r = await post(anna, f"/desk/c/{conv}/reply", text="я" * 5000)
    assert r.headers["Location"].endswith("error=too_long")
    refused = await (await anna.get(r.headers["Location"])).text()
    assert "Не отправлено: текст длиннее 4000 знаков." in refused  # the limit, in numbers
    # 3,995 characters with 128 line breaks, sent as CRLF: as many as the page counted.
    lines = "\r\n".join(["я" * 30] * 128) + "я" * (3995 - 30 * 128 - 127)
    r = await post(anna, f"/desk/c/{conv}/reply", text=lines)
    assert r.headers["Location"].endswith("done=replied")
    async with desk.rt.sessions() as s:
        sent = await s.scalar(select(Message.text).order_by(Message.id.desc()).limit(1))
    assert len(sent) == 3995 and "\r" not in sent
    r = await post(anna, f"/desk/c/{conv}/reply", text="   ")
    assert r.headers["Location"].endswith("error=empty")
    for bad in ("", "x", "99999999999999999999", "1"):
        r = await post(anna, f"/desk/c/{conv}/suggest", message_id=bad)
        assert r.headers["Location"].endswith("error=not_suggestable")
    page = await (await anna.get("/desk/?queue=<x>&state=nonsense")).text()
    assert "Обращения к специалистам" in page
    form = urlencode({"csrf_token": await page_csrf(anna, "/desk/"), "text": "я" * 200_000})
    huge = await anna.post(f"/desk/c/{conv}/reply", data=io.BytesIO(form.encode()),  # 3.6 MB
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status == 413
    assert "Слишком большой объём" in await huge.text()
    assert (await anna.get(f"/desk/c/{conv}")).status == 200  # and the desk goes on
    for path in ("/admin/nosuch", "/desk/nosuch/page"):
        missing = await anna.get(path)
        assert missing.status == 404
        assert "Такого обращения или страницы нет" in await missing.text()
    missing = await anna.get("/nosuch")
    assert missing.status == 404 and await missing.text() == "Страница не найдена."
    await anna.close()


async def test_shutdown_ends_open_event_streams(desk: Desk) -> None:
    anna = await staff_client(desk, "anna")
    stream = await anna.get("/desk/events")
    assert await stream.content.readline() == b"retry: 3000\n"
    await asyncio.wait_for(desk.server.close(), 10)
    assert desk.rt.desk_hub.subscribers == 0
    await anna.close()


async def test_event_stream_ends_after_logout(desk: Desk, monkeypatch) -> None:
    from bots.web.desk import events

    monkeypatch.setattr(events, "HEARTBEAT_S", 0.05)
    anna = await staff_client(desk, "anna")
    stream = await anna.get("/desk/events")
    assert await stream.content.readline() == b"retry: 3000\n"
    assert await stream.content.readline() == b"\n"
    assert await asyncio.wait_for(stream.content.readline(), 5) == b": ping\n"
    token = await page_csrf(anna)
    await anna.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    rest = await asyncio.wait_for(stream.content.read(), 5)  # the server closes the stream
    assert rest.count(b": ping") <= 2
    await anna.close()


async def test_a_disable_from_the_command_line_ends_the_sign_in_and_event_stream_at_once(
        desk: Desk, database_url: str, monkeypatch, capsys) -> None:
    from bots.web.desk import events
    from priemnaya.users_cli import user_set_active

    monkeypatch.setattr(events, "HEARTBEAT_S", 0.2)
    conv = await waiting_conversation(desk.rt, user="client-token-0041")
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/take")
    stream = await anna.get("/desk/events")
    assert await stream.content.readline() == b"retry: 3000\n"

    async def busy_desk() -> None:  # events more often than the heartbeat
        while True:
            await desk.rt.desk_hub.publish(ConversationEvent(EventKind.CLIENT_MESSAGE, conv))
            await asyncio.sleep(0.05)

    busy = asyncio.create_task(busy_desk())
    try:
        assert await user_set_active(database_url, "anna", False) == 0
        # The next request of the open session is refused: it is read from the database.
        r = await anna.get("/desk/", allow_redirects=False)
        assert (r.status, r.headers["Location"].split("?")[0]) == (303, "/login")
        assert (await anna.get(f"/desk/c/{conv}", allow_redirects=False)).status == 303
        await asyncio.wait_for(stream.content.read(), 5)  # the server ends the stream
    finally:
        busy.cancel()
        await asyncio.gather(busy, return_exceptions=True)
    assert capsys.readouterr().out == (
        "'anna' disabled; 1 conversation(s) back in their queues\n"
        "note: open desk pages show them within a minute (without redis.url this command "
        "cannot tell the running service)\n")
    async with desk.rt.sessions() as s:
        assert (await s.get(Conversation, conv)).assigned_to is None
    await anna.close()


@pytest.mark.skipif(not REDIS_URL, reason="needs PRIEMNAYA_TEST_REDIS=redis://HOST:PORT/DB")
async def test_a_disable_from_the_command_line_reaches_open_desk_pages_through_redis(
        desk: Desk, database_url: str, capsys) -> None:
    from bots.redis_bus import event_channel
    from priemnaya.users_cli import EventChannel, user_set_active

    institution = f"t{uuid.uuid4().hex[:12]}"
    rt = build_runtime(Settings(database={"url": database_url}, institution={"id": institution},
                                redis={"url": REDIS_URL}), FakeFaq(), clock=desk.clock)
    server = TestServer(build_app(rt))
    await server.start_server()
    oleg = Browser(server)
    try:
        await until(lambda: rt.event_bus is not None and rt.event_bus.connected)
        conv = await waiting_conversation(rt, user="client-token-0042")
        anna = await staff_client(desk, "anna")
        await post(anna, f"/desk/c/{conv}/take")
        await anna.close()
        assert (await log_in(oleg, "oleg")).status == 303
        stream = await oleg.get("/desk/events")
        assert await stream.content.readline() == b"retry: 3000\n"
        channel = EventChannel(REDIS_URL, event_channel(REDIS_URL, institution))
        assert await user_set_active(database_url, "anna", False, channel) == 0
        while (line := (await asyncio.wait_for(stream.content.readline(), 5)).strip()) \
                [:5] != b"data:":
            pass
        assert json.loads(line[5:]) == {"kind": "released", "id": conv}
        assert capsys.readouterr().out.endswith(
            "open desk pages told through Redis (1 replica(s) listening)\n")
        stream.close()
    finally:
        await oleg.close()
        await server.close()
        await rt.engine.dispose()


async def test_a_disable_from_the_command_line_survives_an_unreachable_redis(
        desk: Desk, database_url: str, capsys) -> None:
    from priemnaya.users_cli import EventChannel, user_set_active

    conv = await waiting_conversation(desk.rt, user="client-token-0043")
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/take")
    await anna.close()
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    channel = EventChannel(f"redis://127.0.0.1:{port}/0", "priemnaya:x:db0:events")
    assert await user_set_active(database_url, "anna", False, channel) == 0
    said = capsys.readouterr()
    assert said.out == "'anna' disabled; 1 conversation(s) back in their queues\n"
    assert said.err.startswith(f"priemnaya: open desk pages could not be told through Redis "
                               f"at 127.0.0.1:{port}/0 (")
    assert said.err.endswith("): they show them within a minute\n")


class PhotoSource:
    """The Telegram FileSource as the desk sees it: a photo, or a file Telegram lost."""

    def __init__(self) -> None:
        self.gone = False

    async def fetch(self, attachment: Attachment) -> FileData:
        if self.gone:
            raise FileUnavailable("Bad Request: invalid file_id", permanent=True)
        return FileData(b"\xff\xd8 jpeg of " + attachment.ref.encode(), "photo.jpg",
                        "image/jpeg")


async def test_a_clients_photo_opens_for_who_works_on_the_conversation(desk: Desk) -> None:
    source = PhotoSource()
    desk.rt.context.files["telegram"] = source
    photo = Attachment(AttachmentKind.PHOTO, "PHOTO-FILE-ID")
    await desk.rt.reception.handle(IncomingMessage(
        Channel.TELEGRAM, "555", "tg-1", "Вот фото справки", display_name="Пётр",
        attachments=(photo,)))
    await desk.rt.reception.handle(IncomingMessage(
        Channel.TELEGRAM, "555", "tg-2", action=Action.parse("consent:specialist")))
    async with desk.rt.sessions() as s:
        conv = await s.scalar(select(Conversation.id))
        mid = await s.scalar(select(Message.id).where(Message.text == "Вот фото справки"))
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")
    # While it waits, its texts read masked and its files stay shut: taken first.
    assert f'href="/desk/files/{mid}/0"' not in await (await anna.get(f"/desk/c/{conv}")).text()
    assert (await anna.get(f"/desk/files/{mid}/0")).status == 403
    await post(anna, f"/desk/c/{conv}/take")
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    assert f'href="/desk/files/{mid}/0"' in page
    assert "Вложение (фото):" in page and "(photo)" not in page  # the kind in words
    r = await anna.get(f"/desk/files/{mid}/0")
    assert r.status == 200
    assert await r.read() == b"\xff\xd8 jpeg of PHOTO-FILE-ID"
    assert r.headers["Content-Type"] == "image/jpeg"
    assert r.headers["Cache-Control"] == "no-store"  # a passport photo stays off the disk
    assert await audit(desk, "file_view") == ["anna"]

    refused = await oleg.get(f"/desk/files/{mid}/0")  # not theirs: no file
    assert refused.status == 403
    assert "Файлы обращения видят специалист" in await refused.text()
    assert f"/desk/files/{mid}/0" not in await (await oleg.get(f"/desk/c/{conv}")).text()
    assert (await anna.get(f"/desk/files/{mid}/1")).status == 404
    source.gone = True
    gone = await anna.get(f"/desk/files/{mid}/0")
    assert gone.status == 410
    assert "больше не хранит" in await gone.text()
    anonymous = desk.client()
    assert (await anonymous.get(f"/desk/files/{mid}/0", allow_redirects=False)).status == 303
    for c in (anna, oleg, anonymous):
        await c.close()


PDF = b"%PDF-1.4\n" + b"form " * 300_000  # 1.5 MB: more than the app reads of other bodies


async def send_file(c: Browser, conv: int, name: str, content: bytes, caption: str = ""):
    token = await page_csrf(c, f"/desk/c/{conv}")
    form = FormData()
    form.add_field("csrf_token", token)
    form.add_field("text", caption)
    form.add_field("file", io.BytesIO(content), filename=name,
                   content_type="application/octet-stream")
    return await c.post(f"/desk/c/{conv}/send_file", data=form, allow_redirects=False)


async def test_a_file_sent_from_the_desk_reaches_the_web_chat_client(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt)
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/take")
    r = await send_file(anna, conv, "C:\\Users\\anna\\Бланк заявления.pdf", PDF,
                        "Заполните и принесите")
    assert r.headers["Location"] == f"/desk/c/{conv}?done=file_sent"
    assert await audit(desk, "desk_file") == ["anna"]

    client = desk.client()
    client.session.cookie_jar.update_cookies({"priemnaya_client": "client-token-0001"},
                                             desk.server.make_url("/"))
    data = await (await client.get("/api/chat/messages?after=0")).json()
    [sent] = [m for m in data["messages"] if m.get("files")]
    assert sent["text"] == "Заполните и принесите"
    assert sent["files"][0]["name"] == "Бланк заявления.pdf"  # the browser's path is gone
    download = await client.get(sent["files"][0]["url"])
    assert download.status == 200
    assert await download.read() == PDF
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    assert "Бланк заявления.pdf" in page and "/desk/files/" in page

    store = desk.rt.context.store
    async with desk.rt.sessions() as s:
        client_id = await s.scalar(select(Conversation.client_id).where(Conversation.id == conv))
    await store.erase_client(client_id, desk.clock())
    async with desk.rt.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(StoredFile)) == 0
    for c in (anna, client):
        await c.close()


@pytest.mark.parametrize(("name", "content", "error"), [
    ("setup.exe", b"MZ\x90\x00", "file_type"),
    ("invoice.pdf", b"MZ\x90\x00 renamed", "file_type"),  # not what its name says
    ("photo.jpg", b"", "no_file"),
    ("big.pdf", b"%PDF" + b"0" * (10 * 2**20), "file_too_big"),
    ("huge.pdf", b"%PDF" + b"0" * (12 * 2**20), "file_too_big"),  # past what is read at all
])
async def test_files_the_desk_refuses(desk: Desk, name: str, content: bytes,
                                      error: str) -> None:
    conv = await waiting_conversation(desk.rt)
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/take")
    r = await send_file(anna, conv, name, content)
    assert r.headers["Location"] == f"/desk/c/{conv}?error={error}"
    async with desk.rt.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(StoredFile)) == 0
    oleg = await staff_client(desk, "oleg")  # not theirs: refused before reading the file
    r = await send_file(oleg, conv, "form.pdf", b"%PDF-1.4")
    assert r.headers["Location"] == f"/desk/c/{conv}?error=not_yours"
    for c in (anna, oleg):
        await c.close()


async def test_a_conversation_never_handed_over_is_for_administrators_only(desk: Desk) -> None:
    await desk.rt.reception.handle(IncomingMessage(
        Channel.WEB, "client-token-0042", "bot-only", "я Орлова Галина Ивановна, СНИЛС "
        "123-456-789 64, как оформить пособие?"))
    async with desk.rt.sessions() as s:
        conv = await s.scalar(select(func.max(Conversation.id)))
    anna, boss = await staff_client(desk, "anna"), await staff_client(desk, "boss")
    assert (await anna.get(f"/desk/c/{conv}")).status == 404  # by guessing its number
    assert (await post(anna, f"/desk/c/{conv}/take")).status == 404
    assert (await boss.get(f"/desk/c/{conv}")).status == 200
    assert await audit(desk, "desk_view") == ["boss"]
    handed = await waiting_conversation(desk.rt, user="client-token-0043")
    assert (await anna.get(f"/desk/c/{handed}")).status == 200
    assert (await anna.get(f"/desk/c/{handed}?partial=1")).status == 200
    assert await audit(desk, "desk_view") == ["boss", "anna"]  # the live refresh is no view
    # The page a take returns to is the same reading; ten minutes on, a new one.
    r = await post(anna, f"/desk/c/{handed}/take")
    assert (await anna.get(r.headers["Location"])).status == 200
    assert await audit(desk, "desk_view") == ["boss", "anna"]
    desk.clock.advance(minutes=11)
    assert (await anna.get(f"/desk/c/{handed}")).status == 200
    assert await audit(desk, "desk_view") == ["boss", "anna", "anna"]
    await anna.close()
    await boss.close()


async def test_a_reply_starting_with_a_bang_is_a_note_as_in_telegram(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0021")
    anna = await staff_client(desk, "anna")
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    assert "начинается с «!», клиенту не уйдёт" in page
    r = await post(anna, f"/desk/c/{conv}/reply", text="  !перезвонить после обеда")
    assert r.headers["Location"] == f"/desk/c/{conv}?done=noted"
    client = desk.client()
    client.session.cookie_jar.update_cookies({"priemnaya_client": "client-token-0021"})
    messages = (await (await client.get("/api/chat/messages?after=0")).json())["messages"]
    assert all("перезвонить" not in m["text"] for m in messages)
    async with desk.rt.sessions() as s:
        stored = (await s.scalars(select(Message).where(Message.conversation_id == conv,
                                                        Message.internal))).all()
        row = await s.get(Conversation, conv)
    assert [m.text for m in stored] == ["перезвонить после обеда"]
    assert row.first_specialist_reply_at is None
    assert await audit(desk, "desk_note") == ["anna"] and await audit(desk, "desk_reply") == []
    r = await post(anna, f"/desk/c/{conv}/reply", text="!")
    assert r.headers["Location"] == f"/desk/c/{conv}?error=empty"
    await anna.close()
    await client.close()


async def test_a_reply_form_posted_twice_at_once_reaches_the_client_once(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0022")
    anna = await staff_client(desk, "anna")
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    token = re.search(r'id="reply-form".*?name="form_token" value="([^"]+)"', page, re.S)
    assert csrf and token
    form = {"csrf_token": csrf[1], "form_token": token[1], "text": "Путёвку дают раз в год."}
    results = await asyncio.gather(*(anna.post(f"/desk/c/{conv}/reply", data=form,
                                               allow_redirects=False) for _ in range(2)))
    assert [r.headers["Location"] for r in results] == [f"/desk/c/{conv}?done=replied"] * 2
    again = await anna.post(f"/desk/c/{conv}/reply", allow_redirects=False,
                            data={**form, "text": "И ещё: справка о доходах."})
    assert again.headers["Location"] == f"/desk/c/{conv}?done=replied"
    client = desk.client()
    client.session.cookie_jar.update_cookies({"priemnaya_client": "client-token-0022"})
    messages = (await (await client.get("/api/chat/messages?after=0")).json())["messages"]
    sent = [m["text"] for m in messages if m["author"] == "specialist"]
    assert sent == ["Путёвку дают раз в год.", "И ещё: справка о доходах."]
    assert await audit(desk, "desk_reply") == ["anna", "anna"]
    await anna.close()
    await client.close()


async def test_a_taken_unanswered_conversation_is_listed_as_taken(desk: Desk) -> None:
    taken = await waiting_conversation(desk.rt, user="client-token-0023", name="Взятая")
    free = await waiting_conversation(desk.rt, user="client-token-0024", name="Свободная")
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{taken}/take")

    async def listed(state: str) -> str:
        return await (await anna.get(f"/desk/?partial=1&state={state}")).text()

    everything = await listed("")
    row = everything.split(f'data-conversation="{taken}"')[1].split("</tr>")[0]
    assert "взято, ответа ещё нет" in row and "Anna" in row and "ждёт" not in row
    assert "взято, ответа ещё нет" in await (await anna.get(f"/desk/c/{taken}")).text()
    waiting, only_taken = await listed("waiting_specialist"), await listed("taken")
    assert f"/desk/c/{free}" in waiting and f"/desk/c/{taken}" not in waiting
    assert f"/desk/c/{taken}" in only_taken and f"/desk/c/{free}" not in only_taken
    assert "Свободная" not in await listed("with_specialist")
    await anna.close()


async def test_a_suggestion_that_does_not_exist_is_not_found(desk: Desk) -> None:
    boss = await staff_client(desk, "boss")
    for verdict in ("accept", "reject"):
        r = await post(boss, f"/desk/suggestions/99999/{verdict}", question="В", answer="О")
        assert r.status == 404, verdict
    assert await audit(desk, "faq_reject") == []
    await boss.close()


async def test_a_file_captioned_as_a_note_is_not_sent(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0025")
    anna = await staff_client(desk, "anna")
    r = await send_file(anna, conv, "form.pdf", PDF, "!клиент просил только бланк")
    assert r.headers["Location"] == f"/desk/c/{conv}?error=note_caption"
    async with desk.rt.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(StoredFile)) == 0
        assert await s.scalar(select(func.count()).select_from(Message).where(
            Message.conversation_id == conv, Message.author == "specialist")) == 0
    page = await (await anna.get(f"/desk/c/{conv}?error=note_caption")).text()
    assert "подпись начинается с «!»" in page
    await anna.close()


VK_FILES = [  # VK's addresses of a client's files, as bots/vk/parse.py stores them
    {"type": "photo", "photo": {"id": 1, "owner_id": 555, "sizes": [
        {"url": "https://sun9-1.userapi.com/impg/passport.jpg", "width": 800,
         "height": 600}]}},
    {"type": "doc", "doc": {"id": 2, "owner_id": 555, "title": "справка.pdf",
                            "url": "https://vk.com/doc555_2?hash=abc"}},
    {"type": "audio_message", "audio_message": {
        "link_mp3": "https://psv4.userapi.com/voice555.mp3", "transcript": ""}},
    {"type": "wall", "wall": {"id": 7, "owner_id": -1, "text": ""}},
]


async def test_vk_files_are_shown_by_kind_only_and_open_through_the_audit(desk: Desk) -> None:
    from bots.vk.parse import to_incoming

    msg = {"peer_id": 555, "from_id": 555, "id": 1, "conversation_message_id": 1,
           "date": 1760000000, "text": "Вот мои документы", "attachments": VK_FILES}
    await desk.rt.reception.handle(to_incoming(msg))
    await desk.rt.reception.handle(IncomingMessage(
        Channel.VK, "555", "vk-2", action=Action.parse("consent:specialist")))
    async with desk.rt.sessions() as s:
        conv = await s.scalar(select(Conversation.id))
        mid = await s.scalar(select(Message.id).where(Message.text == "Вот мои документы"))
    addresses = ("userapi.com", "vk.com/doc", "voice555.mp3", "vk.com/wall")
    anna, oleg = await staff_client(desk, "anna"), await staff_client(desk, "oleg")
    await post(anna, f"/desk/c/{conv}/take")
    # A colleague sees what the client sent, by kind and name, and no address at all.
    page = await (await oleg.get(f"/desk/c/{conv}")).text()
    assert "Вложение (фото)" in page and "справка.pdf" in page
    assert not [a for a in addresses if a in page]
    assert "/desk/files/" not in page
    assert (await oleg.get(f"/desk/files/{mid}/0", allow_redirects=False)).status == 403
    # The assignee opens each through the audited route, never through the address itself.
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    assert not [a for a in addresses if a in page]
    for index in range(4):
        assert f'href="/desk/files/{mid}/{index}"' in page
    r = await anna.get(f"/desk/files/{mid}/0", allow_redirects=False)
    assert r.status == 303
    assert r.headers["Location"] == "https://sun9-1.userapi.com/impg/passport.jpg"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    r = await anna.get(f"/desk/files/{mid}/2", allow_redirects=False)
    assert r.headers["Location"] == "https://psv4.userapi.com/voice555.mp3"
    assert await audit(desk, "file_view") == ["anna", "anna"]
    # An administrator opens them too (audited) but reads the texts masked.
    admin = await staff_client(desk, "boss")
    page = await (await admin.get(f"/desk/c/{conv}")).text()
    assert f'href="/desk/files/{mid}/1"' in page and "vk.com/doc" not in page
    r = await admin.get(f"/desk/files/{mid}/1", allow_redirects=False)
    assert r.headers["Location"] == "https://vk.com/doc555_2?hash=abc"
    assert await audit(desk, "file_view") == ["anna", "anna", "boss"]
    for c in (anna, oleg, admin):
        await c.close()


async def test_a_reply_unsent_a_minute_on_says_so(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0031")
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/reply", text="Ответ, который ждёт отправки")
    async with desk.rt.sessions() as s:
        reply = await s.scalar(select(Message).where(
            Message.text == "Ответ, который ждёт отправки"))
        reply.delivery = "pending"  # the channel is down: the outbox keeps retrying it
        await s.commit()
    assert "ещё не доставлено" not in await (await anna.get(f"/desk/c/{conv}")).text()
    desk.clock.advance(minutes=2)
    assert "ещё не доставлено, отправка повторяется" in await (
        await anna.get(f"/desk/c/{conv}")).text()
    await anna.close()


async def test_a_note_on_a_closed_conversation_stays_in_its_block_of_the_history(
        desk: Desk) -> None:
    user = "client-token-0041"
    first = await waiting_conversation(desk.rt, user=user)
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{first}/take")
    assert (await post(anna, f"/desk/c/{first}/close", confirmed="1")).status == 303

    async def client_says(n: int, text: str) -> None:
        await desk.rt.reception.handle(IncomingMessage(Channel.WEB, user, f"{user}-{n}", text))

    await client_says(2, "Ещё вопрос про путёвку")
    async with desk.rt.sessions() as s:
        second = await s.scalar(select(func.max(Conversation.id)))
    assert second != first
    r = await post(anna, f"/desk/c/{first}/reply", text="!клиент звонил, всё решено")
    assert r.headers["Location"] == f"/desk/c/{first}?done=noted"
    await client_says(3, "Когда будет ответ?")
    page = await (await anna.get(f"/desk/c/{first}")).text()
    assert page.count(f"— обращение №{second} —") == 1
    assert page.index("клиент звонил") < page.index(f"— обращение №{second} —")
    await anna.close()


async def test_a_close_beaten_by_a_colleagues_take_is_refused_and_says_so(desk: Desk) -> None:
    conv = await waiting_conversation(desk.rt, user="client-token-0042")
    anna = await staff_client(desk, "anna")
    page = await (await anna.get(f"/desk/c/{conv}")).text()
    found = re.search(r'name="holder" value="([^"]*)"', page)
    assert found is not None
    store, close = desk.rt.store, desk.rt.store.close

    async def beaten(conversation_id: int, *args: object) -> bool:
        # Oleg's take lands between the action's read and the close's update.
        await store.assign(conversation_id, desk.ids["oleg"], only_if_free=True)
        return await close(conversation_id, *args)  # type: ignore[arg-type]

    store.close = beaten  # type: ignore[method-assign]
    r = await post(anna, f"/desk/c/{conv}/close", confirmed="1", holder=found.group(1))
    assert r.headers["Location"] == f"/desk/c/{conv}?error=changed"
    async with desk.rt.sessions() as s:
        row = await s.get_one(Conversation, conv)
    assert (row.state, row.assigned_to) == ("waiting_specialist", desk.ids["oleg"])
    assert await audit(desk, "desk_close") == []
    await anna.close()
