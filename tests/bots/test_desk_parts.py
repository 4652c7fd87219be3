"""The desk's small parts: login limiter, event hub, timing, masking and canned responses."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import jinja2
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bots.web.desk.canned import CannedResponses
from bots.web.desk.hub import MAX_QUEUED, DeskHub
from bots.web.desk.masking import masked, masked_attachments
from bots.web.desk.timing import Timing, timing_of
from bots.web.ratelimit import Limits, LoginLimiter, MemoryLoginLimiter, RedisLoginLimiter
from faq.model import Entry, KnowledgeBase
from handlers.event_ports import ConversationEvent, EventKind
from handlers.pii import contacts_of
from priemnaya.settings_work import CalendarSettings, QueueSettings, build_queue_directory
from priemnaya.webapp import WEB_TEMPLATES
from storage.desk_queries import DeskRow
from tests.fakes import Clock, FakeRedisServer

REDIS_URL = os.environ.get("PRIEMNAYA_TEST_REDIS", "redis://127.0.0.1:6379/15")
MONDAY_9 = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # 09:00 in Yekaterinburg


SMALL = Limits(pair=2, address=4, login=3)


async def check_limiter(limiter: LoginLimiter, clock: Clock) -> None:
    await limiter.failed("Anna", "10.0.0.1")
    assert not await limiter.blocked("anna", "10.0.0.1")
    await limiter.failed("anna", "10.0.0.1")
    assert await limiter.blocked("ANNA", "10.0.0.1")  # this login from this address
    assert not await limiter.blocked("anna", "10.0.0.2")
    assert not await limiter.blocked("oleg", "10.0.0.1")  # a colleague behind the same NAT
    await limiter.failed("anna", "10.0.0.2")
    assert await limiter.blocked("anna", "10.0.0.3")  # this login from anywhere
    await limiter.succeeded("anna", "10.0.0.2")  # clears the login's counts, not the address's
    assert not await limiter.blocked("anna", "10.0.0.3")
    await limiter.failed("oleg", "10.0.0.1")
    assert not await limiter.blocked("boss", "10.0.0.1")
    await limiter.failed("olga", "10.0.0.1")
    assert await limiter.blocked("boss", "10.0.0.1")  # the address as a whole
    clock.advance(minutes=14, seconds=59)
    assert await limiter.blocked("boss", "10.0.0.1")
    clock.advance(seconds=1)
    assert not await limiter.blocked("boss", "10.0.0.1")
    assert not await limiter.blocked("anna", "10.0.0.1")


async def test_memory_limiter_window_and_keys() -> None:
    clock = Clock()
    await check_limiter(MemoryLoginLimiter(clock, limits=SMALL), clock)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except RedisError:
        await client.aclose()
        pytest.skip(f"no Redis at {REDIS_URL} (set PRIEMNAYA_TEST_REDIS)")
    yield client
    await client.aclose()


async def test_redis_limiter_is_shared_between_replicas(redis: Redis) -> None:
    clock = Clock()
    prefix = f"priemnaya-test:{uuid.uuid4().hex}:"
    replicas = [RedisLoginLimiter(redis, clock, limits=SMALL, prefix=prefix)
                for _ in range(2)]
    await replicas[0].failed("boss", "10.0.0.9")
    await replicas[1].failed("boss", "10.0.0.9")
    assert await replicas[0].blocked("boss", "10.0.0.9")
    await redis.delete(*[k async for k in redis.scan_iter(f"{prefix}*")])
    await check_limiter(RedisLoginLimiter(redis, clock, limits=SMALL, prefix=prefix), clock)
    await redis.delete(*[k async for k in redis.scan_iter(f"{prefix}*")])


async def test_redis_limiter_counts_in_process_when_redis_is_away() -> None:
    clock = Clock()
    away = Redis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.2)
    limiter = RedisLoginLimiter(away, clock, limits=SMALL)
    await check_limiter(limiter, clock)
    await away.aclose()


async def test_redis_limiter_does_not_wait_for_a_redis_that_never_answers() -> None:
    clock = Clock()
    async with FakeRedisServer("silent") as silent:
        hanging = Redis.from_url(silent.url)  # no timeouts of its own: the limiter bounds it
        limiter = RedisLoginLimiter(hanging, clock, limits=SMALL, timeout_s=0.1,
                                    retry_after=timedelta(hours=1))
        async with asyncio.timeout(1):
            assert not await limiter.blocked("boss", "10.0.0.1")
        async with asyncio.timeout(0.1):  # Redis is not asked again for a while
            await check_limiter(limiter, clock)
        await hanging.aclose()
        assert silent.accepted == 1


async def test_hub_delivers_to_every_subscriber_and_closes() -> None:
    hub = DeskHub()
    event = ConversationEvent(EventKind.REMINDER, 7)
    with hub.subscribe() as first, hub.subscribe() as second:
        assert hub.subscribers == 2
        await hub.publish(event)
        assert (first.get_nowait(), second.get_nowait()) == (event, event)
        for _ in range(MAX_QUEUED + 5):  # a stalled page drops events, never blocks others
            await hub.publish(event)
        assert first.qsize() == MAX_QUEUED
        while not second.empty():
            second.get_nowait()
        hub.close()
        assert await asyncio.wait_for(second.get(), 1) is None
    assert hub.subscribers == 0


def row(escalated_at: datetime | None, urgent: bool = False, **kw: object) -> DeskRow:
    base = dict(id=1, client_id=1, client_name="", channel="web", state="waiting_specialist",
                queue="general", category="", urgent=urgent, assigned_to=None, assignee="",
                escalated_at=escalated_at, first_reply_at=None, breached_at=None,
                last_activity_at=MONDAY_9)
    return DeskRow(**{**base, **kw})  # type: ignore[arg-type]


def test_timing_levels_in_working_time() -> None:
    directory = build_queue_directory(
        CalendarSettings(), [QueueSettings(id="general", title="Общие")], "general")
    hour = timedelta(hours=1)
    assert timing_of(row(None), directory, MONDAY_9).level == ""
    ok = timing_of(row(MONDAY_9), directory, MONDAY_9 + hour)
    assert (ok.level, ok.waiting_minutes, ok.left_minutes) == ("ok", 60, 8 * 60)
    assert timing_of(row(MONDAY_9), directory, MONDAY_9 + 7.5 * hour).level == "warn"
    # 23 hours later but only 8 h 30 min of working time (Monday 17:30 to Tuesday 08:30 off).
    overnight = timing_of(row(MONDAY_9), directory, MONDAY_9 + 23 * hour)
    assert (overnight.level, overnight.left_minutes) == ("warn", 30)
    late = timing_of(row(MONDAY_9), directory, MONDAY_9 + 26 * hour)
    assert (late.level, late.left_minutes) == ("late", -120)  # 11 h used of 9
    answered = timing_of(row(MONDAY_9, first_reply_at=MONDAY_9 + 2 * hour), directory,
                         MONDAY_9 + 30 * hour)
    assert (answered.level, answered.waiting_minutes) == ("answered", 120)


def test_a_closed_conversation_has_no_clock_running() -> None:
    directory = build_queue_directory(
        CalendarSettings(), [QueueSettings(id="general", title="Общие")], "general")
    closed = row(MONDAY_9, state="closed", closed_at=MONDAY_9 + timedelta(minutes=5))
    for later in (timedelta(minutes=5), timedelta(days=3)):
        timing = timing_of(closed, directory, MONDAY_9 + later)
        assert (timing.level, timing.waiting_minutes, timing.left_minutes) == ("closed", 5, 0)
    answered = row(MONDAY_9, state="closed", first_reply_at=MONDAY_9 + timedelta(minutes=2),
                   closed_at=MONDAY_9 + timedelta(minutes=5))
    assert timing_of(answered, directory, MONDAY_9 + timedelta(days=3)).level == "answered"


def test_overdue_time_is_rounded_like_waiting_time() -> None:
    directory = build_queue_directory(CalendarSettings(), [QueueSettings(
        id="general", title="Общие", first_reply_hours=0.01)], "general")  # a 36 s target
    for seconds in range(36, 200, 7):
        timing = timing_of(row(MONDAY_9), directory, MONDAY_9 + timedelta(seconds=seconds))
        assert timing.level == "late"
        assert -timing.left_minutes == (seconds - 36) // 60, seconds
        assert -timing.left_minutes <= timing.waiting_minutes == seconds // 60, seconds
    breached = timing_of(row(MONDAY_9, breached_at=MONDAY_9), directory,
                         MONDAY_9 + timedelta(seconds=10))
    assert (breached.level, breached.left_minutes) == ("late", 0)


def test_a_just_missed_target_reads_overdue_without_zero_minutes() -> None:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB_TEMPLATES), autoescape=True)
    shown = env.from_string('{% from "desk_macros.html" import time_left %}{{ time_left(t) }}')
    assert shown.render(t=Timing(5, 0, "late")) == '<span class="late">просрочено</span>'
    assert shown.render(t=Timing(9, -4, "late")) == (
        '<span class="late">просрочено на 4 мин</span>')
    assert shown.render(t=Timing(8, 0, "answered")) == "ответили через 8 мин"


def test_desk_masking_keeps_the_institutions_contacts_and_masks_attachments() -> None:
    kb = KnowledgeBase(categories=(), entries=(
        Entry("contacts", "", "Телефон?", "Звоните: 8 (343) 371-00-00, info@csp.ru"),))
    public = contacts_of(kb)
    assert contacts_of(kb) is public  # read once per knowledge base
    assert masked("Звонила на 8 (343) 371-00-00, мой 89001234567, пишите a@b.ru или "
                  "info@csp.ru", public) == \
        "Звонила на 8 (343) 371-00-00, мой [телефон], пишите [e-mail] или info@csp.ru"
    assert masked_attachments((("contact", "89001234567", "Иванова Анна Петровна"),), public) \
        == (("contact", "[телефон]", "[ФИО]"),)


def test_canned_override_wins_and_broken_files_are_skipped(tmp_path) -> None:
    source = "{# Наше приветствие #}\nДобрый день, {{ client_name }}!"
    (tmp_path / "greeting.j2").write_text(source, encoding="utf-8")
    (tmp_path / "broken.j2").write_text("{% if %}", encoding="utf-8")
    found = {c.name: c for c in CannedResponses([tmp_path]).render_all(
        client_name="Анна", specialist_name="Олег")}
    assert found["greeting.j2"].title == "Наше приветствие"
    assert found["greeting.j2"].text == "Добрый день, Анна!"
    assert "broken.j2" not in found
    assert "goodbye.j2" in found  # defaults stay available


def test_a_broken_canned_override_gives_way_to_the_default_with_one_error_line(
        tmp_path, caplog) -> None:
    (tmp_path / "greeting.j2").write_text("Здравствуйте, {% if %}", encoding="utf-8")
    canned, context = CannedResponses([tmp_path]), {"client_name": "Анна",
                                                    "specialist_name": "Олег"}
    defaults = {c.name: c for c in CannedResponses().render_all(**context)}
    with caplog.at_level("ERROR", logger="bots.web.desk.canned"):
        for _ in range(2):
            found = {c.name: c for c in canned.render_all(**context)}
            assert found["greeting.j2"] == defaults["greeting.j2"]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", f"ready reply {tmp_path / 'greeting.j2'} fails, the desk lists the built-in "
                  "one of its name (if any) instead: line 1: Expected an expression, got 'end "
                  "of statement block'")]
