from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from faq.last_good import LastGood
from faq.live import DuplicateEntry, LiveFaq
from faq.loader import KbError, load_kb
from faq.model import Decision, Entry
from tests.fakes import NEW_SYN_REASON

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
        f"{kb_file}: -: bad YAML: line {len(kb_file.read_text().splitlines())} "
        "«- {id: x, answer: 2026-13-01}»: a value that looks like a date but is not one: put "
        f"it in quotes (YAML: line {len(kb_file.read_text().splitlines())}, column 21: "
        "invalid date '2026-13-01': month must be in 1..12)"
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


def test_entries_added_to_a_file_the_tool_wrote_keep_the_methodologists_comments(
        kb_file: Path, tmp_path: Path) -> None:
    added = tmp_path / "from_specialists.yaml"
    live = LiveFaq([kb_file])
    live.add_entry(Entry("center.wifi", "center", "Есть ли вайфай?", "Да."), added)
    # The tool writes its list at the margin; the methodologist then annotates it.
    added.write_text(added.read_text(encoding="utf-8").replace(
        "- id: center.wifi", "# проверено 01.12\n- id: center.wifi"), encoding="utf-8")
    live.add_entry(Entry("center.lift", "center", "Есть ли лифт?", "Да."), added)
    text = added.read_text(encoding="utf-8")
    assert "# проверено 01.12\n- id: center.wifi" in text
    assert [e.id for e in load_kb([kb_file, added]).entries][-2:] == ["center.wifi",
                                                                   "center.lift"]


def test_add_entry_refuses_invalid_and_leaves_file_untouched(kb_file: Path) -> None:
    live = LiveFaq([kb_file])
    before = kb_file.read_text(encoding="utf-8")
    with pytest.raises(KbError):
        live.add_entry(Entry("x", "no-such-category", "Q?", "A"), kb_file)
    with pytest.raises(KbError):
        live.add_entry(Entry("center.phone", "center", "Q?", "A"), kb_file)
    assert kb_file.read_text(encoding="utf-8") == before
    # No temporary left behind; the lock file stays, as removing it would race its takers.
    assert sorted(p.name for p in kb_file.parent.iterdir()) == [".kb.yaml.lock", "kb.yaml"]


def _wifi(n: int) -> Entry:
    return Entry(f"center.wifi-{n}", "center", f"Вопрос о вайфае номер {n}?", f"Ответ {n}.")


def test_concurrent_additions_are_all_kept(tmp_path: Path, kb_file: Path) -> None:
    # Two administrators accepting at the same moment: each append must see the other's.
    live, target = LiveFaq([tmp_path]), tmp_path / "from_specialists.yaml"
    start = threading.Barrier(6)

    def add(n: int) -> None:
        start.wait()
        live.add_entry(_wifi(n), target)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    on_disk = load_kb([tmp_path])
    assert {e.id for e in on_disk.entries} >= {_wifi(n).id for n in range(6)}
    assert all(live.kb.entry(_wifi(n).id) is not None for n in range(6))
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == [
        ".from_specialists.yaml.lock"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_addition_keeps_the_files_mode(kb_file: Path) -> None:
    kb_file.chmod(0o640)
    LiveFaq([kb_file]).add_entry(_wifi(1), kb_file)
    assert kb_file.stat().st_mode & 0o777 == 0o640


def test_an_id_another_replica_added_is_refused_as_a_duplicate(
    tmp_path: Path, kb_file: Path
) -> None:
    # Two replicas over one folder: the second has not reloaded yet, the file is the judge.
    first, second = LiveFaq([tmp_path]), LiveFaq([tmp_path])
    target = tmp_path / "from_specialists.yaml"
    first.add_entry(_wifi(1), target)
    before = target.read_text(encoding="utf-8")
    with pytest.raises(DuplicateEntry) as refused:
        second.add_entry(Entry(_wifi(1).id, "center", "Другой вопрос?", "Другой ответ."),
                         target)
    assert [p.reason for p in refused.value.problems] == [f"duplicate id (first in {target})"]
    assert target.read_text(encoding="utf-8") == before
    assert load_kb([tmp_path]).entry(_wifi(1).id) == _wifi(1)


def _add_as_a_replica(folder: str, first: int, start: object) -> None:
    live, target = LiveFaq([Path(folder)]), Path(folder) / "from_specialists.yaml"
    start.wait()  # type: ignore[attr-defined]
    for n in range(first, first + 4):
        live.add_entry(_wifi(n), target)


def test_replicas_in_separate_processes_lose_no_addition(tmp_path: Path, kb_file: Path) -> None:
    context = multiprocessing.get_context("spawn")  # fork warns in a threaded process
    start = context.Barrier(2)
    replicas = [context.Process(target=_add_as_a_replica, args=(str(tmp_path), first, start))
                for first in (0, 100)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(120)
    assert [r.exitcode for r in replicas] == [0, 0]
    ids = {e.id for e in load_kb([tmp_path]).entries}
    assert ids >= {_wifi(n).id for n in (*range(4), *range(100, 104))}


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
        str(kb_file), "reload failed: MemoryError: no room for the index")
    assert "knowledge base reload failed; keeping the current one" in caplog.text


def _last_good(tmp_path: Path, *sources: Path) -> LastGood:
    return LastGood(tmp_path / "data" / "kb-last-good", sources)


def test_a_start_with_broken_files_answers_from_the_copy_that_loaded_last(
    kb_file: Path, tmp_path: Path, caplog
) -> None:
    LiveFaq([kb_file], last_good=_last_good(tmp_path, kb_file))
    good = kb_file.read_text(encoding="utf-8")
    _bump(kb_file, good.replace("entries:", "entries:\n\t- broken", 1))
    with caplog.at_level(logging.ERROR, logger="faq.live"):
        live = LiveFaq([kb_file], last_good=_last_good(tmp_path, kb_file))
    assert live.match("какой телефон регистратуры").best.entry_id == "center.phone"
    assert live.reload_failure is not None
    [problem] = live.reload_failure.problems
    assert problem.file == str(kb_file)
    assert "bad YAML" in problem.reason
    assert "starting on the copy that loaded last" in caplog.records[0].getMessage()

    _bump(kb_file, good.replace("+7 000 000-00-00.", "+7 111 111-11-11."))
    assert live.reload_if_changed()
    assert live.reload_failure is None
    assert live.kb.entry("center.phone").answer == "+7 111 111-11-11."
    # The fixed files are the copy now.
    _bump(kb_file, "entries: [")
    restarted = LiveFaq([kb_file], last_good=_last_good(tmp_path, kb_file))
    assert restarted.kb.entry("center.phone").answer == "+7 111 111-11-11."


def test_an_emptied_file_keeps_the_old_kb_and_is_not_kept_as_the_last_good_copy(
    kb_file: Path, tmp_path: Path, caplog
) -> None:
    live = LiveFaq([kb_file], last_good=_last_good(tmp_path, kb_file))
    _bump(kb_file, "")  # a save cut short: `: > kb.yaml`
    with caplog.at_level(logging.ERROR, logger="faq.live"):
        assert not live.reload_if_changed()
    assert live.match("какой телефон регистратуры").best.entry_id == "center.phone"
    assert live.reload_failure is not None
    [problem] = live.reload_failure.problems
    assert (problem.file, problem.kind) == (str(kb_file), "empty_file")
    assert "knowledge base not reloaded" in caplog.text
    copy = _last_good(tmp_path, kb_file).load()
    assert copy is not None and len(load_kb(copy.kb).entries) == 13
    restarted = LiveFaq([kb_file], last_good=_last_good(tmp_path, kb_file))
    assert len(restarted.kb.entries) == 13


def test_a_first_start_with_broken_files_still_fails(kb_file: Path, tmp_path: Path) -> None:
    _bump(kb_file, "entries: [")
    with pytest.raises(KbError):
        LiveFaq([kb_file], last_good=_last_good(tmp_path, kb_file))


def test_the_copy_of_another_knowledge_base_is_not_used(kb_file: Path, tmp_path: Path) -> None:
    LiveFaq([kb_file], last_good=_last_good(tmp_path, kb_file))
    other = tmp_path / "other.yaml"
    other.write_text("entries: [", encoding="utf-8")
    with pytest.raises(KbError):
        LiveFaq([other], last_good=_last_good(tmp_path, other))


def test_a_copy_is_only_kept_of_files_that_load(kb_file: Path, tmp_path: Path) -> None:
    keeper = _last_good(tmp_path, kb_file)
    keeper.save([kb_file], [])
    first = keeper.load()
    assert first is not None
    _bump(kb_file, "entries: [")
    with pytest.raises(ValueError):
        keeper.save([kb_file], [])
    assert keeper.load() == first
    [folder] = (tmp_path / "data" / "kb-last-good").iterdir()
    assert len(list(folder.iterdir())) == 2  # CURRENT and the one version


BROKEN_SYNONYMS = "groups:\n  - [ЕГВ, губеровские\n"


def test_a_broken_synonyms_file_is_blamed_on_reload_in_one_line(
    kb_file: Path, tmp_path: Path, caplog
) -> None:
    synonyms = tmp_path / "synonyms.yaml"
    synonyms.write_text("groups:\n  - [ЕГВ, губернаторские выплаты]\n", encoding="utf-8")
    live = LiveFaq([kb_file], synonym_files=[synonyms])
    _bump(synonyms, BROKEN_SYNONYMS)
    with caplog.at_level(logging.ERROR, logger="faq.live"):
        assert not live.reload_if_changed()
    assert live.reload_failure is not None
    assert [str(p) for p in live.reload_failure.problems] == [
        f"{synonyms}: -: bad YAML in the synonyms file: {NEW_SYN_REASON}"]
    assert not any(r.exc_info for r in caplog.records)


def test_a_start_with_a_broken_synonyms_file_uses_the_copy(
    kb_file: Path, tmp_path: Path
) -> None:
    synonyms = tmp_path / "synonyms.yaml"
    synonyms.write_text("groups:\n  - [ЕГВ, губернаторские выплаты]\n", encoding="utf-8")
    keeper = _last_good(tmp_path, kb_file, synonyms)
    LiveFaq([kb_file], synonym_files=[synonyms], last_good=keeper)
    _bump(synonyms, BROKEN_SYNONYMS)
    live = LiveFaq([kb_file], synonym_files=[synonyms], last_good=keeper)
    assert live.reload_failure is not None
    assert live.reload_failure.problems[0].file == str(synonyms)
    assert len(live.kb.entries) == 13
