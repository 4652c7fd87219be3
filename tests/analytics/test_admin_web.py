"""The admin pages through aiohttp's test client: roles, CSRF, figures, masking, audit."""

from __future__ import annotations

import csv
import io
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import ClientSession, CookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from analytics.logbook import transcript
from analytics.metrics import compute
from analytics.retention import purge_raw_texts
from handlers.pii import public_contacts
from priemnaya.analytics_setup import build_queues
from priemnaya.runner import build_runner
from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from priemnaya.webapp import build_app
from storage.models import AuditEntry, Client, Conversation, InboundEvent, Message
from storage.replay_backoff import ATTENTION_AFTER
from tests.analytics.conftest import november
from tests.analytics.generator import AS_OF, write_log
from tests.bots.staff import Staff, add_staff, csrf_of, log_in, page_csrf
from tests.fakes import Clock, FakeFaq

NOV = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
async def admin_site(database_url: str) -> AsyncIterator[tuple[Staff, dict[str, int]]]:
    clock = Clock(AS_OF)
    rt = build_runtime(Settings(database={"url": database_url}), FakeFaq(), clock=clock)
    ids = await write_log(rt.sessions)
    await add_staff(rt, clock)
    staff = Staff(TestClient(TestServer(build_app(rt, start_background=False))), rt, clock)
    async with staff.client:
        yield staff, ids
    await rt.engine.dispose()


async def audit_actions(staff: Staff) -> list[tuple[str, str, str]]:
    async with staff.rt.sessions() as s:
        rows = (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
    return [(r.actor, r.action, r.object_id) for r in rows]


@pytest.mark.parametrize("path", ["/admin/", "/admin/log", "/admin/gaps", "/admin/audit",
                                  "/admin/export", "/admin/conversations/1",
                                  "/admin/export/daily.csv"])
async def test_anonymous_is_sent_to_login(admin_site, path: str) -> None:
    staff, _ = admin_site
    r = await staff.client.get(path, allow_redirects=False)
    assert r.status == 303
    assert r.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize("path", ["/admin/", "/admin/log", "/admin/gaps", "/admin/staff",
                                  "/admin/export/conversations.csv", "/desk/suggestions"])
async def test_specialist_is_forbidden(admin_site, path: str) -> None:
    staff, _ = admin_site
    await log_in(staff.client, "anna")
    r = await staff.client.get(path, allow_redirects=False)
    assert r.status == 403
    html = await r.text()
    assert "Эта страница доступна только администратору." in html
    assert "Файлы обращения" not in html  # the refusal of a file says why it is refused


async def test_no_staff_response_is_kept_in_the_browsers_cache(admin_site) -> None:
    """After «Выход» the Back button must not show a client's data from the cache."""
    staff, _ = admin_site
    await log_in(staff.client, "boss")
    for path in ("/admin/", "/admin/log", "/admin/conversations/1", "/admin/audit",
                 f"/admin/export/conversations.csv?{NOV}", "/admin/gaps.csv", "/admin/staff",
                 "/desk/", "/desk/c/1", "/desk/suggestions", "/admin/conversations/999999",
                 "/admin"):
        r = await staff.client.get(path, allow_redirects=False)
        assert r.status in (200, 302, 303, 404), path
        assert r.headers.get("Cache-Control") == "no-store", path
    await log_in(staff.client, "anna")
    refused = await staff.client.get("/admin/log")
    assert (refused.status, refused.headers.get("Cache-Control")) == (403, "no-store")
    chat = await staff.client.get("/")  # the clients' chat is not a staff page
    assert chat.headers.get("Cache-Control") != "no-store"


async def test_dashboard_shows_the_figures_and_charts(admin_site) -> None:
    staff, _ = admin_site
    await log_in(staff.client, "boss")
    r = await staff.client.get(f"/admin/?{NOV}")
    html = await r.text()
    assert r.status == 200
    assert '<div class="value">6</div>' in html
    assert "33,3 %" in html and "(2 из 6)" in html  # resolved by the FAQ
    assert "засчитывается, когда обращение закрыто или 24 ч без сообщений" in html
    assert '<div class="value">4,5 <span class="muted">' in html  # the average rating
    assert not re.search(r"\d\.\d %", html)  # a decimal comma, as in the CSV exports
    assert "медиана 2 ч 10 мин, p90 5 ч 0 мин" in html  # working first response
    resolution = html[html.index('id="m-resolution-working"'):]
    assert "медиана 2 ч 45 мин, p90 5 ч 30 мин" in resolution[:300]  # 165 and 330 minutes
    assert html.count('src="data:image/svg+xml;base64,') == 4
    assert 'alt="Обращения по дням.' in html
    # The queue filter names queues by their titles, not their ids.
    assert '<option value="general" >Общие вопросы</option>' in html


async def test_top_entries_name_an_id_the_knowledge_base_no_longer_has(admin_site) -> None:
    # "e1" was answered in November, then renamed or removed: its title is gone, not blank.
    staff, _ = admin_site
    await log_in(staff.client, "boss")
    html = await (await staff.client.get(f"/admin/?{NOV}")).text()
    assert '<em>(нет в базе знаний)</em> <span class="muted">e1</span>' in html
    assert "e1 <span" not in html


@pytest.mark.parametrize(("path", "status", "shown"), [
    ("/admin/?from=2026-13-01&to=x", 200, "ожидалась дата"),
    ("/admin/?from=9999-12-31&to=9999-12-31", 200, "год должен быть"),
    ("/admin/?from=2026-11-30&to=2026-11-01", 200, "Конец периода раньше начала"),
    ("/admin/?from=2020-01-01&to=2026-01-01", 200, "сокращён"),
    ("/admin/?channel=%27%3B--&queue=" + "x" * 500, 200, "Показатели"),
    ("/admin/log?page=-1&specialist=x&state=nonsense&q=%25", 200, "Найдено обращений"),
    ("/admin/conversations/abc", 404, "Не найдено"),
    ("/admin/export/secrets.txt", 404, ""),
])
async def test_bad_input_gets_a_clear_answer(admin_site, path: str, status: int,
                                             shown: str) -> None:
    staff, _ = admin_site
    await log_in(staff.client, "boss")
    r = await staff.client.get(path)
    assert r.status == status
    assert shown in await r.text()


async def test_a_date_that_does_not_exist_is_named_and_not_reported_as_a_reversal(
        admin_site) -> None:
    staff, _ = admin_site
    await log_in(staff.client, "boss")
    html = await (await staff.client.get("/admin/?from=2026-02-30&to=2026-03-01")).text()
    assert "Начало периода: такой даты нет: 2026-02-30" in html
    assert "раньше начала" not in html and "ожидалась дата" not in html
    # The end given stands; the start is 30 days before it, not this month's first day.
    assert 'name="from" value="2026-01-31"' in html and 'name="to" value="2026-03-01"' in html
    html = await (await staff.client.get("/admin/?from=2026-11-10")).text()
    assert 'name="to" value="2026-11-10"' not in html  # up to today, as without a start
    assert "раньше начала" not in html


async def test_an_unknown_filter_is_named_and_not_applied(admin_site) -> None:
    staff, _ = admin_site
    await log_in(staff.client, "boss")
    every = await (await staff.client.get(f"/admin/?{NOV}")).text()
    r = await staff.client.get(f"/admin/?{NOV}&channel=xx&queue=%3Cb%3Ex%3C/b%3E&category=zz")
    html = await r.text()
    assert "Неизвестный канал «xx»: фильтр не применён." in html
    assert "Неизвестная очередь «&lt;b&gt;x&lt;/b&gt;»: фильтр не применён." in html
    assert "<b>x</b>" not in html
    assert "Неизвестная категория «zz»: фильтр не применён." in html
    total = re.compile(r"Обращений\D{0,80}?(\d+)", re.S)
    assert total.search(html).group(1) == total.search(every).group(1) != "0"
    known = await (await staff.client.get(f"/admin/?{NOV}&channel=telegram")).text()
    assert "фильтр не применён" not in known


async def test_transcript_is_masked_and_its_viewing_audited(admin_site) -> None:
    staff, ids = admin_site
    await log_in(staff.client, "boss")
    r = await staff.client.get(f"/admin/conversations/{ids['c3']}")
    html = await r.text()
    assert "Мой телефон [телефон]" in html
    assert "345-67-89" not in html
    assert "Персональные данные в тексте скрыты" in html
    assert "Общие вопросы /" in html  # the queue by its title
    assert "наш телефон [телефон]" in html  # no answer of the knowledge base gives it
    assert "Спасибо, [ФИО]" in html and "Ирина" not in html
    # The bot's decision reads in Russian; the code stays only as an attribute.
    assert '<span data-decision="no_match">ответ не найден</span>' in html
    assert "· no_match" not in html
    # Given in the knowledge base's answers, the institution's own phone stays readable.
    public = public_contacts(["Звоните нам: +7 343 371-00-00."])
    found = await transcript(staff.rt.sessions, ids["c3"], public=public)
    assert found is not None
    assert [line.text for line in found.lines if "МФЦ" in line.text] == [
        "Справку выдаёт МФЦ, наш телефон 8 (343) 371-00-00"]
    assert "Мой телефон [телефон]" in found.lines[0].text
    assert ("boss", "view_transcript", str(ids["c3"])) in await audit_actions(staff)
    assert (await staff.client.get("/admin/conversations/999999")).status == 404


async def test_transcript_names_pressed_buttons_in_words(admin_site) -> None:
    staff, ids = admin_site
    async with staff.rt.sessions.begin() as s:
        first = await s.scalar(select(Message).where(Message.conversation_id == ids["c3"]))
        assert first is not None
        for action in ("start", "entry:family.allowance", "category:housing"):
            s.add(Message(conversation_id=ids["c3"], client_id=first.client_id, direction="in",
                          author="client", channel=first.channel, text="", text_length=0,
                          action=action, internal=False, created_at=first.created_at))
    await log_in(staff.client, "boss")
    html = await (await staff.client.get(f"/admin/conversations/{ids['c3']}")).text()
    assert "открыто меню" in html
    assert "выбран вопрос «Как оформить единое пособие?»" in html
    assert "выбран раздел «Субсидии ЖКУ»" in html
    assert "кнопка:" not in html


async def test_log_search_filters_and_refuses_personal_data(admin_site) -> None:
    staff, ids = admin_site
    await log_in(staff.client, "boss")
    html = await (await staff.client.get(f"/admin/log?{NOV}&q=Справк")).text()
    assert 'id="log-total">2<' in html
    assert f"/admin/conversations/{ids['c3']}" in html
    html = await (await staff.client.get(f"/admin/log?{NOV}&channel=telegram")).text()
    assert 'id="log-total">2<' in html
    html = await (await staff.client.get(f"/admin/log?{NOV}&q=%2B79123456789")).text()
    assert "персональные данные" in html
    assert 'id="log-total">0<' in html and "/admin/conversations/" not in html
    assert ("boss", "search_log", "") in await audit_actions(staff)


async def test_searched_names_are_masked_in_the_audit(admin_site) -> None:
    staff, _ = admin_site
    await log_in(staff.client, "boss")
    for q in ("Иванова", "справка Ирина Сергеевна", "%2B79123456789"):
        assert (await staff.client.get(f"/admin/log?{NOV}&q={q}")).status == 200
    async with staff.rt.sessions() as s:
        details = (await s.scalars(select(AuditEntry.details)
                                   .where(AuditEntry.action == "search_log"))).all()
    assert [d.split(" q=")[1] for d in details] == [
        "[ФИО]", "справка [ФИО] (отказано: персональные данные)",
        "[телефон] (отказано: персональные данные)"]


async def test_the_site_has_a_favicon(admin_site) -> None:
    staff, _ = admin_site
    ico = await staff.client.get("/favicon.ico")
    assert ico.status == 200 and ico.content_type == "image/vnd.microsoft.icon"
    assert (await ico.read())[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    svg = await staff.client.get("/favicon.svg")
    assert svg.status == 200 and svg.content_type == "image/svg+xml"
    assert "max-age" in svg.headers["Cache-Control"]
    for page in ("/", "/login"):
        html = await (await staff.client.get(page)).text()
        assert '<link rel="icon" href="/favicon.svg"' in html


async def test_export_csv_has_one_row_per_conversation(admin_site) -> None:
    staff, _ = admin_site
    await log_in(staff.client, "boss")
    r = await staff.client.get(f"/admin/export/conversations.csv?{NOV}")
    assert r.status == 200
    rows = list(csv.reader(io.StringIO((await r.text()).lstrip("\ufeff")), delimiter=";"))
    assert len(rows) == 7
    by_id = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    column = "Первый ответ в рабочее время, мин"
    assert sorted(row[column] for row in by_id.values() if row[column]) == [
        "130,0", "300,0", "60,0"]
    assert {row["Канал"] for row in by_id.values()} <= {"ВКонтакте", "Telegram", "Веб-чат"}
    assert "Общие вопросы" in {row["Очередь"] for row in by_id.values()}
    # Yes and no in words: a Russian Excel would show 1/0 or ИСТИНА/ЛОЖЬ.
    assert {row["Срочное"] for row in by_id.values()} <= {"да", "нет"}
    assert {row["В срок"] for row in by_id.values()} <= {"да", "нет", ""}
    assert "да" in {row["В срок"] for row in by_id.values()}
    xlsx = await staff.client.get(f"/admin/export/report.xlsx?{NOV}")
    assert (await xlsx.read())[:2] == b"PK"
    assert [a[1] for a in await audit_actions(staff)].count("export") == 2


async def test_erase_needs_csrf_and_confirmation(admin_site) -> None:
    staff, ids = admin_site
    await log_in(staff.client, "boss")
    url = f"/admin/conversations/{ids['c1']}"
    r = await staff.client.post(f"{url}/erase", data={"confirm": "yes"}, allow_redirects=False)
    assert r.status == 403
    token = await page_csrf(staff.client, url)
    r = await staff.client.post(f"{url}/erase", data={"csrf_token": token},
                                allow_redirects=False)
    assert r.headers["Location"].endswith("error=confirm")


async def test_specialist_cannot_erase_even_with_a_valid_token(admin_site) -> None:
    staff, ids = admin_site
    await log_in(staff.client, "anna")
    forbidden = await staff.client.get("/admin/")
    token = csrf_of(await forbidden.text())  # the 403 page is a staff page with the token
    r = await staff.client.post(f"/admin/conversations/{ids['c1']}/erase",
                                data={"csrf_token": token, "confirm": "yes"},
                                allow_redirects=False)
    assert r.status == 403
    assert ("anna", "erase_client") not in [a[:2] for a in await audit_actions(staff)]


async def test_erasure_and_retention_keep_every_figure(admin_site) -> None:
    staff, ids = admin_site
    queues = build_queues(staff.rt.settings)
    async with staff.rt.sessions.begin() as s:  # an open one keeps its texts, however old
        await s.execute(update(Conversation).where(Conversation.state != "closed")
                        .values(state="closed", closed_at=Conversation.last_activity_at))
    before = compute(await november(staff.rt.sessions), queues)
    await log_in(staff.client, "boss")
    url = f"/admin/conversations/{ids['c1']}"
    token = await page_csrf(staff.client, url)
    r = await staff.client.post(f"{url}/erase", data={"csrf_token": token, "confirm": "yes"},
                                allow_redirects=False)
    assert r.status == 303
    page = await (await staff.client.get(r.headers["Location"])).text()
    assert "Данные клиента удалены" in page
    assert "Полный текст видит только специалист" not in page  # there is no text left to see
    purged = await purge_raw_texts(staff.rt.sessions, AS_OF, days=1)
    assert purged.messages > 0
    async with staff.rt.sessions() as s:
        texts = (await s.scalars(select(Message.text))).all()
    assert set(texts) == {"", "y"}  # "y" is younger than a day at AS_OF
    assert compute(await november(staff.rt.sessions), queues) == before
    assert ("boss", "erase_client") in [a[:2] for a in await audit_actions(staff)]
    # The gaps page still counts the unanswered questions whose texts are gone.
    gaps = await (await staff.client.get(f"/admin/gaps?{NOV}")).text()
    assert 'id="gap-count">0<' in gaps and 'Ещё <span id="gap-erased">' in gaps


async def test_gaps_group_similar_questions(admin_site) -> None:
    staff, _ = admin_site
    await log_in(staff.client, "boss")
    html = await (await staff.client.get(f"/admin/gaps?{NOV}")).text()
    assert 'id="gap-count">3<' in html
    assert "<strong>2</strong> вопроса" in html
    assert "[телефон]" in html


async def test_gaps_say_which_the_bot_now_answers_and_export_the_rest(
        admin_site, monkeypatch: pytest.MonkeyPatch) -> None:
    import csv
    import io

    from faq.model import Candidate, Decision, MatchResult

    staff, _ = admin_site
    plain = FakeFaq.match

    def match(self: FakeFaq, text: str) -> MatchResult:
        if "газ" in text.lower():  # an entry added since the question was asked
            return MatchResult(Decision.ANSWER, (Candidate("housing.subsidy", 1.0),))
        return plain(self, text)

    monkeypatch.setattr(FakeFaq, "match", match)
    await log_in(staff.client, "boss")
    html = await (await staff.client.get(f"/admin/gaps?{NOV}")).text()
    assert html.count('class="answered-now"') == 1
    assert "Сейчас бот отвечает на это\n  статьёй «Как получить субсидию на ЖКУ?»" in html
    assert f'href="/admin/gaps.csv?{NOV.replace("&", "&amp;")}' in html
    r = await staff.client.get(f"/admin/gaps.csv?{NOV}")
    assert r.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["id", "category", "question", "variants", "keywords", "answer"]
    # The two groups still unanswered, as entries to complete; the answered one is left out.
    assert len(rows) == 3 and all(row[0].startswith("new.question-") for row in rows[1:])
    assert not any("газ" in row[2].lower() for row in rows[1:])
    assert any("[телефон]" in " ".join(row) for row in rows[1:])


async def test_audit_page_names_actions_in_russian_and_pages(admin_site) -> None:
    from datetime import timedelta

    from analytics.logbook import audit

    staff, ids = admin_site
    for n in range(205):
        await audit(staff.rt.sessions, AS_OF + timedelta(seconds=n), "oleg", "desk_take",
                    "conversation", str(ids["c1"]))
    await log_in(staff.client, "boss")
    first = await (await staff.client.get("/admin/audit")).text()
    assert "Взял(а) обращение" in first and ">desk_take<" not in first
    assert f'<a href="/admin/conversations/{ids["c1"]}">обращение №{ids["c1"]}</a>' in first
    assert "страница 1 из 2" in first and 'href="/admin/audit?page=2"' in first
    second = await (await staff.client.get("/admin/audit?page=2")).text()
    # 205 takes and boss's login: 200 on the first page, the oldest 6 on the second.
    assert first.count("<tr><td>") == 200 and second.count("<tr><td>") == 6
    assert "страница 2 из 2" in second and 'href="/admin/audit?page=1"' in second


async def test_audit_page_filters_by_who_what_and_conversation(admin_site) -> None:
    from analytics.logbook import audit

    staff, ids = admin_site
    for actor, action, conv in (("oleg", "desk_view", "c1"), ("anna", "desk_view", "c1"),
                                ("oleg", "desk_take", "c3"), ("oleg", "desk_view", "c3")):
        await audit(staff.rt.sessions, AS_OF, actor, action, "conversation", str(ids[conv]))
    await log_in(staff.client, "boss")

    async def rows(query: str) -> list[str]:
        page = await (await staff.client.get(f"/admin/audit?{query}")).text()
        return re.findall(r"<tr><td>[^<]*</td><td>(\w+)</td>", page)

    # Who opened conversation c1? Both, the newest first.
    assert await rows(f"conversation={ids['c1']}") == ["anna", "oleg"]
    assert await rows("actor=oleg&action=desk_view") == ["oleg", "oleg"]
    assert await rows(f"actor=oleg&action=desk_view&conversation=№{ids['c3']}") == ["oleg"]
    page = await (await staff.client.get("/admin/audit?conversation=abc&actor=oleg")).text()
    assert "Номер обращения — только цифры" in page and "найдено 3" in page
    assert '<option value="desk_view" selected>Открыл(а) обращение</option>' in (
        await (await staff.client.get("/admin/audit?action=desk_view")).text())
    await audit(staff.rt.sessions, AS_OF, "anna", "desk_file", "conversation",
                str(ids["c1"]), "message 172: бланк.pdf (45 B)")
    page = await (await staff.client.get("/admin/audit?action=desk_file")).text()
    assert "сообщение №172: бланк.pdf (45 байт)" in page  # stored as code wrote it


def test_the_institutions_contacts_are_read_from_the_answers() -> None:
    from dataclasses import replace
    from types import SimpleNamespace
    from typing import Any

    from analytics.web.deps import AdminDeps
    from faq.model import Entry
    from tests.fakes import KB

    kb = replace(KB, entries=(*KB.entries, Entry("contacts", "family", "Ваш телефон?",
                                                 "Звоните: 8 (343) 371-00-00.")))
    unused: Any = None
    deps = AdminDeps(unused, unused, unused, unused, unused, faq=SimpleNamespace(kb=kb))
    assert deps.public_contacts() == frozenset({"3433710000"})
    assert AdminDeps(unused, unused, unused, unused, unused).public_contacts() == frozenset()


async def test_every_admin_page_warns_of_a_knowledge_base_that_did_not_reload(
        database_url: str, tmp_path) -> None:
    import os

    from faq.live import LiveFaq

    kb_file = tmp_path / "kb.yaml"
    good = ("categories:\n  - {id: help, title: Помощь}\n"
            "entries:\n  - {id: hours, category: help, question: Когда, answer: С 9.}\n")
    kb_file.write_text(good, encoding="utf-8")
    faq = LiveFaq([kb_file])
    clock = Clock(AS_OF)
    rt = build_runtime(Settings(database={"url": database_url}), faq, clock=clock)
    await write_log(rt.sessions)
    await add_staff(rt, clock)
    async with TestClient(TestServer(build_app(rt, start_background=False))) as client:
        await log_in(client, "boss")
        assert 'id="kb-failure"' not in await (await client.get("/admin/")).text()
        kb_file.write_text(good + "  - {id: hours, category: help, question: Ещё, answer: Да.}\n",
                           encoding="utf-8")
        os.utime(kb_file, ns=(0, kb_file.stat().st_mtime_ns + 2_000_000_000))
        assert not faq.reload_if_changed()
        for path in ("/admin/", "/admin/log", "/admin/gaps", "/admin/export", "/admin/audit"):
            html = await (await client.get(path)).text()
            assert 'id="kb-failure"' in html, path
            assert "База знаний не обновлена." in html
            assert (f"{kb_file}: запись hours: запись с таким id уже есть (в файле {kb_file}): "
                    "у каждой записи свой id") in html
            assert "duplicate id" not in html  # the log's English stays in the log
    await rt.engine.dispose()


async def test_a_very_long_log_link_gets_the_log_page(database_url: str) -> None:
    clock = Clock(AS_OF)
    rt = build_runtime(Settings(database={"url": database_url}), FakeFaq(), clock=clock)
    await add_staff(rt, clock)
    runner = build_runner(build_app(rt, start_background=False))
    await runner.setup()
    sock = socket.create_server(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    try:
        async with ClientSession(base_url=url, cookie_jar=CookieJar(unsafe=True)) as c:
            await log_in(c, "boss")  # type: ignore[arg-type]
            long_link = f"/admin/log?{NOV}&q=" + "справка+" * 230  # 9.9 KB, percent-encoded
            r = await c.get(long_link)
            html = await r.text()
            assert r.status == 200, html[:300]
            assert "Текст поиска длиннее 200 знаков: искали по первым 200." in html
            # The next click carries the long link as its Referer.
            r = await c.get("/admin/log", headers={"Referer": url + long_link})
            assert r.status == 200
    finally:
        await runner.cleanup()
        await rt.engine.dispose()


async def test_admin_pages_warn_of_broken_client_texts_and_categories_without_a_queue(
        database_url: str, tmp_path, caplog) -> None:
    import os

    from priemnaya.faq_setup import build_faq

    (tmp_path / "texts" / "messages").mkdir(parents=True)
    broken = tmp_path / "texts" / "messages" / "no_match.j2"
    broken.write_text("Не нашла ответа {% if x %} сломано\n", encoding="utf-8")
    kb_file = tmp_path / "kb.yaml"
    kb = ("categories:\n  - {id: help, title: Помощь, queue: general}\n"
          "entries:\n  - {id: hours, category: help, question: Когда, answer: С 9.}\n")
    kb_file.write_text(kb, encoding="utf-8")
    settings = Settings(database={"url": database_url}, templates={"override_dir": tmp_path /
                        "texts"}, faq={"paths": [kb_file], "last_good": tmp_path / "last"})
    faq = build_faq(settings)
    clock = Clock(AS_OF)
    rt = build_runtime(settings, faq, clock=clock)
    await add_staff(rt, clock)
    async with TestClient(TestServer(build_app(rt, start_background=False))) as client:
        await log_in(client, "boss")
        html = await (await client.get("/admin/")).text()
        assert 'id="template-failure"' in html
        assert (f"{broken}: строка 1: ошибка в разметке шаблона (сообщение jinja2: "
                "Unexpected end of template.") in html
        assert 'id="unrouted-categories"' not in html

        kb_file.write_text(kb.replace("queue: general", "queue: lawyers"), encoding="utf-8")
        os.utime(kb_file, ns=(0, kb_file.stat().st_mtime_ns + 2_000_000_000))
        with caplog.at_level("WARNING", logger="priemnaya.faq_setup"):
            assert faq.reload_if_changed()
            os.utime(kb_file, ns=(0, kb_file.stat().st_mtime_ns + 2_000_000_000))
            assert faq.reload_if_changed()  # the same set again: not logged again
        assert [r.getMessage() for r in caplog.records if r.name == "priemnaya.faq_setup"] == [
            "category 'help' names queue 'lawyers', which settings.queues does not list: "
            "its hand-overs go to 'general'"]
        for path in ("/admin/", "/admin/log", "/admin/staff"):
            html = await (await client.get(path)).text()
            assert 'id="unrouted-categories"' in html, path
            assert ("Категория «Помощь» (help) указывает очередь «lawyers», которой\n      нет в "
                    "настройках: её обращения попадают в очередь «Общие вопросы».") in html, path
            assert "names queue" not in html, path
    await rt.engine.dispose()


async def test_the_clients_own_first_name_is_masked_in_gaps_and_the_log(admin_site) -> None:
    """A VK client «Валентина Петровна» signs with her first name alone: the gaps page, its
    CSV, the log list and its search show it masked as the transcript does."""
    staff, _ = admin_site
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    async with staff.rt.sessions.begin() as s:
        client = Client(channel="vk", user_id="555", display_name="Валентина Петровна",
                        created_at=at, last_seen_at=at)
        s.add(client)
        await s.flush()
        conv = Conversation(client_id=client.id, channel="vk", opened_at=at,
                            last_activity_at=at)
        s.add(conv)
        await s.flush()
        for text in ("Валентина", "Пишет вам Валентина, вопрос о льготах"):
            s.add(Message(conversation_id=conv.id, client_id=client.id, direction="in",
                          author="client", channel="vk", text=text, text_length=len(text),
                          decision="no_match", created_at=at))
    await log_in(staff.client, "boss")
    pages = [await (await staff.client.get(f"/admin/{path}?{NOV}")).text()
             for path in ("gaps", "gaps.csv", "log")]
    assert all("Валентин" not in page for page in pages)
    assert "Пишет вам [ФИО], вопрос о льготах" in pages[0]
    assert "Пишет вам [ФИО], вопрос о льготах" in pages[1]
    found = await (await staff.client.get(f"/admin/log?{NOV}&q=Валентина")).text()
    assert f"/admin/conversations/{conv.id}" not in found


async def test_client_messages_replayed_in_vain_are_shown_on_every_page(admin_site) -> None:
    staff, _ = admin_site
    await log_in(staff.client, "boss")
    assert 'id="stuck-events"' not in await (await staff.client.get("/admin/")).text()
    async with staff.rt.sessions.begin() as s:
        s.add(InboundEvent(channel="vk", dedupe_key="vk:e1", kind="message_new", raw="{}",
                           status="received", error="OperationalError: locked\n[SQL: ...]",
                           received_at=datetime(2026, 11, 30, 6, 5, tzinfo=UTC),
                           attempts=ATTENTION_AFTER))
    for path in ("/admin/", "/admin/log", "/admin/staff", "/admin/audit"):
        html = await (await staff.client.get(path)).text()
        assert 'id="stuck-events"' in html, path
        assert "Сообщения клиентов не удаётся обработать: 1 шт." in html, path
        assert "OperationalError: locked" in html and "[SQL" not in html, path


async def test_a_broken_page_override_gives_way_to_the_built_in_page_with_a_banner(
        database_url: str, tmp_path, caplog) -> None:
    import os

    web_dir = tmp_path / "web"
    web_dir.mkdir()
    chat, nav = web_dir / "chat.html", web_dir / "admin_nav.html"
    chat.write_text("{% block x %}broken\n", encoding="utf-8")
    nav.write_text("{{ nonexistent.attr }}\n", encoding="utf-8")
    settings = Settings(database={"url": database_url}, templates={"override_dir": tmp_path})
    clock = Clock(AS_OF)
    rt = build_runtime(settings, FakeFaq(), clock=clock)
    await add_staff(rt, clock)
    async with TestClient(TestServer(build_app(rt, start_background=False))) as client:
        with caplog.at_level("ERROR", logger="bots.web.pages"):
            for _ in range(2):
                r = await client.get("/")
                assert r.status == 200 and "<title>Онлайн-приёмная</title>" in await r.text()
            await log_in(client, "boss")
            for _ in range(2):
                r = await client.get("/admin/")
                html = await r.text()
                assert r.status == 200, html
        assert 'id="template-failure"' in html and "Показатели</a>" in html
        assert (f"{chat}: строка 1: ошибка в разметке шаблона (сообщение jinja2: Unexpected "
                "end of template.") in html
        assert f"{nav}: неизвестная переменная «nonexistent»" in html
        assert sorted(r.getMessage() for r in caplog.records if r.name == "bots.web.pages") == [
            f"page template {nav} fails, the built-in page is shown instead: UndefinedError: "
            "'nonexistent' is undefined",
            f"page template {chat} fails, the built-in page is shown instead: line 1: "
            "Unexpected end of template. Jinja was looking for the following tags: 'endblock'. "
            "The innermost block that needs to be closed is 'block'."]

        chat.write_text("<p>Наш чат</p>\n", encoding="utf-8")
        os.utime(chat, ns=(0, chat.stat().st_mtime_ns + 2_000_000_000))
        assert await (await client.get("/")).text() == "<p>Наш чат</p>"
        assert str(chat) not in await (await client.get("/admin/")).text()
    await rt.engine.dispose()


async def test_admin_pages_warn_of_queue_members_without_an_active_account(
        database_url: str) -> None:
    from priemnaya.analytics_setup import queue_members_without_account
    from storage.users import SqlStaffAccounts

    settings = Settings(database={"url": database_url}, queues=[
        {"id": "general", "title": "Общие", "members": ["anna", "nobody"]},
        {"id": "urgent", "title": "Срочные", "members": ["oleg"]}])
    clock = Clock(AS_OF)
    rt = build_runtime(settings, FakeFaq(), clock=clock)
    await add_staff(rt, clock)
    await SqlStaffAccounts(rt.sessions).set_active("oleg", False)
    assert [str(m) for m in await queue_members_without_account(rt)] == [
        "queue 'general' lists member 'nobody', who has no active staff account: create it "
        "(priemnaya user add) or correct settings.queues",
        "queue 'urgent' lists member 'oleg', who has no active staff account: create it "
        "(priemnaya user add) or correct settings.queues"]
    async with TestClient(TestServer(build_app(rt, start_background=False))) as client:
        await log_in(client, "boss")
        html = await (await client.get("/admin/")).text()
        assert 'id="members-without-account"' in html
        assert "Очередь «Общие» (general): логин «nobody»" in html
        assert "Очередь «Срочные» (urgent): логин «oleg»" in html
        assert "логин «anna»" not in html
        await SqlStaffAccounts(rt.sessions).set_active("oleg", True)
        html = await (await client.get("/admin/staff")).text()
        assert "логин «nobody»" in html and "логин «oleg»" not in html
    await rt.engine.dispose()
