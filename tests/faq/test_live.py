from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import pytest

from faq.live import LiveFaq
from faq.loader import KbError, load_kb
from faq.model import Decision, Entry

from .conftest import REHAB


def _bump(path: Path, text: str) -> None:
    """Write and move the mtime forward: some filesystems keep one-second resolution."""
    stat = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


def _edit_hours(path: Path) -> None:
    _bump(path, path.read_text(encoding="utf-8").replace("Пн–Пт с 8:00", "Пн–Сб с 8:00"))


@pytest.fixture
def kb_file(tmp_path: Path) -> Path:
    path = tmp_path / "kb.yaml"
    path.write_text(REHAB.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def test_reload_sees_a_changed_answer(kb_file: Path) -> None:
    live = LiveFaq([kb_file])
    assert not live.reload_if_changed()
    text = kb_file.read_text(encoding="utf-8").replace("+7 000 000-00-00.", "+7 111 111-11-11.")
    _bump(kb_file, text)
    assert live.reload_if_changed()
    assert live.kb.entry("center.phone").answer == "+7 111 111-11-11."


def test_broken_file_keeps_the_old_kb_and_logs(kb_file: Path, caplog) -> None:
    live = LiveFaq([kb_file])
    _bump(kb_file, kb_file.read_text(encoding="utf-8") + "  - {id: x, category: nope\n")
    with caplog.at_level(logging.ERROR, logger="faq.live"):
        assert not live.reload_if_changed()
    assert len(live.kb.entries) == 13
    assert live.match("какой телефон регистратуры").best.entry_id == "center.phone"
    assert "bad YAML" in caplog.text


def test_an_impossible_date_keeps_the_old_kb_and_logs_it(kb_file: Path, caplog) -> None:
    live = LiveFaq([kb_file])
    _bump(kb_file, kb_file.read_text(encoding="utf-8") + "  - {id: x, answer: 2026-13-01}\n")
    with caplog.at_level(logging.ERROR, logger="faq.live"):
        assert not live.reload_if_changed()
    assert len(live.kb.entries) == 13
    assert [r.getMessage() for r in caplog.records][1:] == [
        f"{kb_file}: -: bad YAML: invalid date '2026-13-01': month must be in 1..12 "
        f'in "<unicode string>", line {len(kb_file.read_text().splitlines())}, column 21: '
        "- {id: x, answer: 2026-13-01} ^"
    ]
    assert not any(r.exc_info for r in caplog.records)


def test_a_failed_reload_is_kept_for_the_admin_until_the_files_load(
    kb_file: Path, caplog
) -> None:
    live = LiveFaq([kb_file])
    good = kb_file.read_text(encoding="utf-8")
    duplicate = "  - {id: center.phone, category: center, question: Телефон, answer: Звоните.}\n"
    _bump(kb_file, good + duplicate)
    with caplog.at_level(logging.ERROR, logger="faq.live"):
        assert not live.reload_if_changed()
    failure = live.reload_failure
    assert failure is not None
    assert [str(p) for p in failure.problems] == [
        f"{kb_file}: center.phone: duplicate id (first in {kb_file})"]
    assert caplog.records[0].getMessage() == (
        "knowledge base not reloaded, keeping the previous one: 1 problems, "
        f"first: {kb_file}: center.phone: duplicate id (first in {kb_file})")
    assert not live.reload_if_changed()  # nothing changed since: still failed
    assert live.reload_failure == failure
    _bump(kb_file, good)
    assert live.reload_if_changed()
    assert live.reload_failure is None


async def test_watch_reloads_in_the_background(kb_file: Path) -> None:
    live = LiveFaq([kb_file])
    task = asyncio.create_task(live.watch(0.01))
    await asyncio.to_thread(_edit_hours, kb_file)
    for _ in range(200):
        await asyncio.sleep(0.01)
        if live.kb.entry("center.hours").answer.startswith("Пн–Сб"):
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert live.kb.entry("center.hours").answer.startswith("Пн–Сб")


def test_add_entry_appends_keeps_comments_and_answers(kb_file: Path) -> None:
    kb_file.write_text("# keep me\n" + kb_file.read_text(encoding="utf-8"), encoding="utf-8")
    live = LiveFaq([kb_file])
    entry = Entry(
        id="center.wifi",
        category="center",
        question="Есть ли в центре бесплатный вайфай?",
        answer="Да, сеть «Центр», пароль у администратора.\nДоступ круглосуточный.",
        variants=("Можно ли подключиться к интернету",),
    )
    live.add_entry(entry, kb_file)
    assert kb_file.read_text(encoding="utf-8").startswith("# keep me\n")
    assert load_kb([kb_file]).entry("center.wifi") == entry
    assert live.match("есть ли вайфай в центре").best.entry_id == "center.wifi"


def test_add_entry_refuses_invalid_and_leaves_file_untouched(kb_file: Path) -> None:
    live = LiveFaq([kb_file])
    before = kb_file.read_text(encoding="utf-8")
    with pytest.raises(KbError):
        live.add_entry(Entry("x", "no-such-category", "Q?", "A"), kb_file)
    with pytest.raises(KbError):
        live.add_entry(Entry("center.phone", "center", "Q?", "A"), kb_file)
    assert kb_file.read_text(encoding="utf-8") == before
    assert [p.name for p in kb_file.parent.iterdir()] == ["kb.yaml"]


def test_add_entry_to_a_new_file_in_the_folder(tmp_path: Path, kb_file: Path) -> None:
    live = LiveFaq([tmp_path])
    live.add_entry(
        Entry("center.new", "center", "Новый вопрос о центре?", "Ответ."),
        tmp_path / "approved.yaml",
    )
    assert live.kb.entry("center.new") is not None
    assert live.match("Новый вопрос о центре?").decision is Decision.ANSWER


async def test_an_unexpected_reload_error_is_kept_for_the_admin_too(
    kb_file: Path, monkeypatch, caplog
) -> None:
    live = LiveFaq([kb_file])

    def broken(kb: object) -> None:
        raise MemoryError("no room for the index")

    monkeypatch.setattr(live, "_build", broken)
    task = asyncio.create_task(live.watch(0.01))
    await asyncio.to_thread(_edit_hours, kb_file)
    for _ in range(200):
        await asyncio.sleep(0.01)
        if live.reload_failure is not None:
            break
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert live.reload_failure is not None
    [problem] = live.reload_failure.problems
    assert (problem.file, problem.reason) == (
        str(kb_file), "reload failed: MemoryError('no room for the index')")
    assert "knowledge base reload failed; keeping the current one" in caplog.text
