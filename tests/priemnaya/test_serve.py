"""Start-up tuning of the collector that `priemnaya run` applies once it listens."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from priemnaya.serve import COLLECTOR_THRESHOLDS, build_service, freeze_startup_heap
from priemnaya.settings import Settings


@pytest.fixture
def collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_start_up_heap_is_frozen_and_young_collections_are_rarer(collector: None) -> None:
    survivor = [object()]  # lives from start-up on, like the knowledge base's index
    freeze_startup_heap()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == COLLECTOR_THRESHOLDS
    assert COLLECTOR_THRESHOLDS[0] > 700  # CPython's default
    # Frozen objects are not collected, and a cycle made afterwards still is.
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1
    assert survivor


async def test_the_start_logs_each_failing_template_and_each_misspelt_name(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    texts = tmp_path / "texts"
    for sub in ("web", "canned", "messages"):
        (texts / sub).mkdir(parents=True)
    (texts / "web" / "chat.html").write_text("{% block x %}broken\n", encoding="utf-8")
    (texts / "canned" / "greeting.j2").write_text("{% if %}\n", encoding="utf-8")
    (texts / "messages" / "no_macth.j2").write_text("Не нашла.\n", encoding="utf-8")
    settings = Settings(database={"url": f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"},
                        templates={"override_dir": texts},
                        faq={"last_good": tmp_path / "last"})
    with caplog.at_level("WARNING"):
        rt, _ = build_service(settings)
    await rt.engine.dispose()
    logged = [(r.levelname, r.getMessage()) for r in caplog.records
              if r.name in ("bots.web.pages", "priemnaya.serve")]
    assert logged == [
        ("ERROR", f"page template {texts / 'web' / 'chat.html'} fails, the built-in page is "
                  "shown instead: line 1: Unexpected end of template. Jinja was looking for the "
                  "following tags: 'endblock'. The innermost block that needs to be closed is "
                  "'block'."),
        ("ERROR", f"ready reply {texts / 'canned' / 'greeting.j2'} fails, the desk lists the "
                  "built-in one of its name (if any) instead: line 1: Expected an expression, "
                  "got 'end of statement block'"),
        ("WARNING", f"templates.override_dir: {texts / 'messages' / 'no_macth.j2'}: no built-in "
                    "template has this name, so nothing reads it; did you mean no_match.j2?")]


def test_the_start_warns_of_each_queue_member_without_an_active_account(
        tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio
    import socket

    from priemnaya import serve as serving
    from storage.migrate import upgrade

    async def stop_at_once() -> None:
        return None

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"sqlite+aiosqlite:///{tmp_path / 'p.db'}"
    upgrade(url)
    settings = Settings(database={"url": url}, web={"port": port},
                        faq={"last_good": tmp_path / "last"},
                        queues=[{"id": "general", "title": "A", "members": ["nobody"]},
                                {"id": "urgent", "title": "B"}])
    monkeypatch.setattr(serving, "until_signalled", stop_at_once)
    monkeypatch.setattr(serving, "freeze_startup_heap", lambda: None)
    with caplog.at_level("WARNING", logger="priemnaya.serve"):
        asyncio.run(serving.serve(settings))
    capsys.readouterr()  # the first administrator's password
    assert [r.getMessage() for r in caplog.records if r.name == "priemnaya.serve"] == [
        "queue 'general' lists member 'nobody', who has no active staff account: create it "
        "(priemnaya user add) or correct settings.queues"]
