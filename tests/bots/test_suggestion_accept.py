"""Accepting FAQ suggestions writes the knowledge base before the acceptance is committed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import select

import faq.live
from faq.live import LiveFaq
from faq.loader import Problem, check_kb, load_kb
from faq.model import Entry
from handlers.faq_ports import EntryIdTaken
from priemnaya.faq_setup import LiveFaqEditor
from storage.engine import build_engine, build_sessions
from storage.models import FaqSuggestion
from tests.bots.test_desk import Desk, desk, post, staff_client, waiting_conversation

__all__ = ["desk"]  # the fixture, shared with the desk's other tests

KB = """\
categories:
  - {id: family, title: "Семьи с детьми", queue: family}
entries:
  - {id: family.allowance, category: family, question: "Как оформить пособие?", answer: "В МФЦ."}
"""


async def _suggestions(desk: Desk, count: int) -> list[int]:
    anna = await staff_client(desk, "anna")
    for n in range(count):
        conv = await waiting_conversation(desk.rt, user=f"client-token-01{n:02d}")
        await post(anna, f"/desk/c/{conv}/reply", text=f"Ответ {n}.", suggest_faq="1")
    await anna.close()
    async with desk.rt.sessions() as s:
        return list((await s.scalars(select(FaqSuggestion.id).order_by(FaqSuggestion.id))).all())


async def _statuses(desk: Desk) -> list[str]:
    async with desk.rt.sessions() as s:
        return list((await s.scalars(select(FaqSuggestion.status)
                                     .order_by(FaqSuggestion.id))).all())


def _use(desk: Desk, editor: object) -> None:
    """The desk was built with the fixture's FakeEditor: let it do what editor does."""
    desk.editor.add_entry = editor.add_entry  # type: ignore[method-assign]


def _accept(n: int, entry_id: str) -> dict[str, str]:
    return {"question": f"Вопрос номер {n}?", "answer": f"Ответ номер {n}.",
            "category": "family", "entry_id": entry_id}


async def test_two_accepts_at_once_both_reach_the_file(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def slow_check(paths: Sequence[Path]) -> list[Problem]:
        time.sleep(0.2)  # a slow shared disk: both accepts are inside their writes at once
        return check_kb(paths)

    monkeypatch.setattr(faq.live, "check_kb", slow_check)
    (tmp_path / "base.yaml").write_text(KB, encoding="utf-8")
    target = tmp_path / "from_specialists.yaml"
    _use(desk, LiveFaqEditor(LiveFaq([tmp_path]), target))
    first, second = await _suggestions(desk, 2)
    boss, boss2 = await staff_client(desk, "boss"), await staff_client(desk, "boss")
    answers = await asyncio.gather(
        post(boss, f"/desk/suggestions/{first}/accept", **_accept(1, "family.one")),
        post(boss2, f"/desk/suggestions/{second}/accept", **_accept(2, "family.two")))
    assert all("done=accepted" in r.headers["Location"] for r in answers)
    assert {e.id for e in load_kb([tmp_path]).entries} == {
        "family.allowance", "family.one", "family.two"}
    assert await _statuses(desk) == ["accepted", "accepted"]
    await boss.close()
    await boss2.close()


class _TakenMeanwhile:
    """The id was added by another replica after the page's own check."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.seen: list[str] = []

    async def add_entry(self, entry: Entry) -> None:
        engine = build_engine(self.database_url)
        async with build_sessions(engine)() as s:  # another connection, as another replica
            self.seen = list((await s.scalars(select(FaqSuggestion.status))).all())
        await engine.dispose()
        raise EntryIdTaken("duplicate id")


async def test_an_id_taken_meanwhile_leaves_the_suggestion_new(
    desk: Desk, database_url: str
) -> None:
    _use(desk, editor := _TakenMeanwhile(database_url))
    [suggestion] = await _suggestions(desk, 1)
    boss = await staff_client(desk, "boss")
    r = await post(boss, f"/desk/suggestions/{suggestion}/accept", **_accept(1, "family.one"))
    assert r.status == 422 and "Запись с таким идентификатором уже есть." in await r.text()
    assert editor.seen == ["new"]  # not committed as accepted while the file was written
    assert await _statuses(desk) == ["new"]
    await boss.close()


class _BrokenDisk:
    async def add_entry(self, entry: Entry) -> None:
        raise ValueError("[Errno 13] Permission denied: 'kb/from_specialists.yaml'")


async def test_a_failed_write_leaves_the_suggestion_new(desk: Desk) -> None:
    _use(desk, _BrokenDisk())
    [suggestion] = await _suggestions(desk, 1)
    boss = await staff_client(desk, "boss")
    r = await post(boss, f"/desk/suggestions/{suggestion}/accept", **_accept(1, "family.one"))
    assert r.status == 422 and "Не удалось записать в базу знаний" in await r.text()
    assert await _statuses(desk) == ["new"]
    r = await post(boss, f"/desk/suggestions/{suggestion}/reject")
    assert "done=rejected" in r.headers["Location"]
    await boss.close()
