"""Auto-assignment to the least-loaded queue member on duty, through the composition root."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from handlers.model import Action, Channel, IncomingMessage
from priemnaya.runtime import Runtime, build_runtime
from priemnaya.settings import Settings
from storage.models import Conversation
from tests.bots.staff import add_staff
from tests.fakes import Clock, FakeFaq

EKB = ZoneInfo("Asia/Yekaterinburg")


def build(database_url: str, clock: Clock, auto_assign: bool = True) -> Runtime:
    settings = Settings(database={"url": database_url}, queues=[
        {"id": "general", "title": "Общие", "members": ["oleg", "anna", "ghost"],
         "auto_assign": auto_assign},
        {"id": "urgent", "title": "Срочные"}])
    return build_runtime(settings, FakeFaq(), clock=clock)


async def hand_over(rt: Runtime, user: str) -> int:
    await rt.reception.handle(IncomingMessage(Channel.WEB, user, f"{user}-1",
                                              action=Action.parse("consent:specialist")))
    async with rt.sessions() as s:
        return int(await s.scalar(select(Conversation.id).order_by(Conversation.id.desc())))


async def assignee(rt: Runtime, conversation_id: int) -> int | None:
    async with rt.sessions() as s:
        return (await s.get(Conversation, conversation_id)).assigned_to


async def test_least_loaded_member_on_duty_gets_it(database_url: str) -> None:
    clock = Clock(datetime(2026, 11, 30, 10, 0, tzinfo=EKB))
    rt = build(database_url, clock)
    ids = await add_staff(rt, clock)
    got = [await assignee(rt, await hand_over(rt, f"client-{n}")) for n in range(3)]
    # Equal loads go by the order of members; "ghost" has no account and is skipped.
    assert got == [ids["oleg"], ids["anna"], ids["oleg"]]
    await rt.engine.dispose()


async def test_nobody_is_assigned_out_of_hours_or_when_switched_off(database_url: str) -> None:
    clock = Clock(datetime(2026, 11, 28, 10, 0, tzinfo=EKB))  # a Saturday
    rt = build(database_url, clock)
    await add_staff(rt, clock)
    assert await assignee(rt, await hand_over(rt, "weekend")) is None
    await rt.engine.dispose()
    clock.now = datetime(2026, 11, 30, 10, 0, tzinfo=EKB)
    rt = build(database_url, clock, auto_assign=False)
    assert await assignee(rt, await hand_over(rt, "manual")) is None
    await rt.engine.dispose()
