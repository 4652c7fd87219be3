"""Reviewing a suggestion: variants and keywords, the topic offered, a broken knowledge base."""

from __future__ import annotations

import html
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select, update

from faq.live import LiveFaq
from faq.model import Entry
from priemnaya.faq_setup import LiveFaqEditor
from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from storage.models import Conversation, FaqSuggestion
from tests.bots.staff import add_staff
from tests.bots.test_desk import Desk, FakeEditor, desk, post, staff_client, waiting_conversation
from tests.fakes import Clock

__all__ = ["desk"]  # the fixture, shared with the desk's other tests

PHONE_QUESTION = "Как получить путёвку в санаторий? Мой телефон 89123456789"


async def _suggested(desk: Desk, question: str = "Как получить путёвку в санаторий?",
                     user: str = "client-token-0101") -> int:
    conv = await waiting_conversation(desk.rt, user=user, question=question)
    anna = await staff_client(desk, "anna")
    await post(anna, f"/desk/c/{conv}/reply", text="Раз в год по заявлению.", suggest_faq="1")
    await anna.close()
    async with desk.rt.sessions() as s:
        return int(await s.scalar(select(FaqSuggestion.id).order_by(FaqSuggestion.id.desc())))


def _fields(**changed: str) -> dict[str, str]:
    return {"question": "Как получить путёвку в санаторий?", "answer": "Раз в год по заявлению.",
            "category": "family", "entry_id": "family.voucher", **changed}


async def test_variants_and_keywords_are_offered_and_written_to_the_entry(desk: Desk) -> None:
    suggestion = await _suggested(desk, question=PHONE_QUESTION)
    boss = await staff_client(desk, "boss")
    page = await (await boss.get("/desk/suggestions")).text()
    assert "Варианты вопроса" in page and "Ключевые слова" in page
    # The client's words, masked, are offered as a variant of the question being rewritten.
    assert ('name="variants" rows="3">Как получить путёвку в санаторий? Мой телефон [телефон]'
            "</textarea>") in page
    r = await post(boss, f"/desk/suggestions/{suggestion}/accept", **_fields(
        question="Как получить путёвку?",
        variants="Как получить путёвку в санаторий?\n\n  путёвка  в санаторий \nКак получить "
                 "путёвку?\nпутёвка в санаторий",
        keywords="санаторий, путёвка,, санаторий"))
    assert r.headers["Location"].startswith("/desk/suggestions?done=accepted")
    assert desk.editor.entries == [Entry(
        "family.voucher", "family", "Как получить путёвку?", "Раз в год по заявлению.",
        variants=("Как получить путёвку в санаторий?", "путёвка в санаторий"),
        keywords=("санаторий", "путёвка"))]
    await boss.close()


async def test_a_variant_equal_to_the_question_is_not_repeated(desk: Desk) -> None:
    suggestion = await _suggested(desk)
    boss = await staff_client(desk, "boss")
    r = await post(boss, f"/desk/suggestions/{suggestion}/accept",
                   **_fields(variants="как получить путевку в санаторий"))
    assert r.headers["Location"].startswith("/desk/suggestions?done=accepted")
    assert desk.editor.entries[0].variants == ()
    await boss.close()


@pytest.mark.parametrize(("fields", "shown"), [
    ({"variants": "Путёвка для ребёнка\nМой телефон [телефон], перезвоните"},
     "В вариантах вопроса осталась метка скрытых данных «[телефон]»"),
    ({"question": "Путёвка, СНИЛС [СНИЛС]"}, "В вопросе осталась метка скрытых данных «[СНИЛС]»"),
    ({"keywords": "путёвка, [ФИО]"}, "В ключевых словах осталась метка скрытых данных «[ФИО]»"),
    ({"answer": "Звоните [телефон]."}, "В ответе осталась метка скрытых данных «[телефон]»"),
    ({"variants": "Путёвка, мой СНИЛС 123-456-789 01"},
     "В вариантах вопроса остались персональные данные"),
    ({"keywords": "путёвка, 8 912 345-67-89"}, "В ключевых словах остались персональные данные"),
    ({"variants": "<b>Путёвка</b>"}, "есть HTML-разметка"),
    ({"keywords": "путёвка, <i>санаторий</i>"}, "есть HTML-разметка"),
    ({"variants": "Путёвка " * 70}, "Слишком длинный текст среди вариантов вопроса: каждый — "
     "не длиннее 500 знаков."),
    ({"keywords": ", ".join(f"слово{n}" for n in range(31))},
     "Слишком много ключевых слов: не больше 30."),
])
async def test_variants_and_keywords_are_checked_like_the_rest(
    desk: Desk, fields: dict[str, str], shown: str
) -> None:
    suggestion = await _suggested(desk)
    boss = await staff_client(desk, "boss")
    r = await post(boss, f"/desk/suggestions/{suggestion}/accept", **_fields(**fields))
    page = await r.text()
    assert r.status == 422 and shown in page
    # Shown again as sent, to be corrected.
    if "variants" in fields:
        assert html.escape(fields["variants"].splitlines()[0].split()[0], quote=False) in page
    assert desk.editor.entries == []
    await boss.close()


async def _selected(desk: Desk) -> str:
    boss = await staff_client(desk, "boss")
    page = await (await boss.get("/desk/suggestions")).text()
    await boss.close()
    select_html = page[page.index('<select name="category">'):page.index("</select>")]
    return select_html.split(" selected>")[0].rsplit('value="', 1)[1].split('"')[0]


async def test_the_topic_offered_is_the_conversations(desk: Desk) -> None:
    await _suggested(desk)
    # Nothing says its topic: none is chosen for the administrator (not the first one).
    assert await _selected(desk) == ""
    async with desk.rt.sessions.begin() as s:
        await s.execute(update(Conversation).values(queue="housing"))
    assert await _selected(desk) == "housing"  # the one topic its queue serves
    async with desk.rt.sessions.begin() as s:
        await s.execute(update(Conversation).values(category="housing", queue="general"))
    assert await _selected(desk) == "housing"  # filed under a topic after the suggestion
    boss = await staff_client(desk, "boss")
    page = await (await boss.get("/desk/suggestions")).text()
    assert 'value="housing.suggested-' in page
    await boss.close()


KB = """\
categories:
  - {id: family, title: "Семьи с детьми", queue: family}
entries:
  - {id: family.allowance, category: family, question: "Как оформить пособие?", answer: "В МФЦ."}
"""


@pytest.fixture
async def live_desk(database_url: str, tmp_path: Path) -> AsyncIterator[Desk]:
    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "base.yaml").write_text(KB, encoding="utf-8")
    faq = LiveFaq([tmp_path / "kb"])
    clock = Clock()
    rt = build_runtime(Settings(database={"url": database_url}), faq, clock=clock)
    rt.kb_editor = LiveFaqEditor(faq, tmp_path / "kb" / "from_specialists.yaml")
    ids = await add_staff(rt, clock)
    server = TestServer(build_app(rt, start_background=False))
    await server.start_server()
    yield Desk(server, rt, clock, ids, FakeEditor())
    await server.close()
    await rt.engine.dispose()


async def test_a_broken_knowledge_base_is_named_on_the_suggestions_page(
    live_desk: Desk, tmp_path: Path
) -> None:
    suggestion = await _suggested(live_desk)
    broken = tmp_path / "kb" / "extra.yaml"
    broken.write_text("entries:\n  - {id: family.x, category: family, question: Вопрос}\n",
                      encoding="utf-8")
    boss = await staff_client(live_desk, "boss")
    r = await post(boss, f"/desk/suggestions/{suggestion}/accept", **_fields())
    page = await r.text()
    assert r.status == 422
    assert "файлы базы знаний сейчас не загружаются" in page
    # The file and the problem, to be corrected, in the admin's words.
    assert f"<li>{broken}: запись family.x: нет поля «answer (ответ)»</li>" in page
    assert "подробности в журнале сервера" not in page
    # Once the watcher has read the files, the page carries the admin pages' banner too.
    os.utime(broken, ns=(0, broken.stat().st_mtime_ns + 2_000_000_000))
    assert isinstance(live_desk.rt.faq, LiveFaq) and not live_desk.rt.faq.reload_if_changed()
    page = await (await boss.get("/desk/suggestions")).text()
    assert 'id="kb-failure"' in page and "База знаний не обновлена." in page
    assert f"{broken}: запись family.x: нет поля «answer (ответ)»" in page
    async with live_desk.rt.sessions() as s:
        assert await s.scalar(select(FaqSuggestion.status)) == "new"
    await boss.close()
