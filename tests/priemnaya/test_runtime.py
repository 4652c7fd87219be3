"""The composition root reads an institution's own texts where the settings say."""

from __future__ import annotations

from pathlib import Path

from priemnaya.runtime import build_runtime
from priemnaya.settings import Settings
from tests.fakes import FakeFaq


async def test_client_texts_come_from_messages_beside_web_and_canned(tmp_path: Path) -> None:
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "no_match.j2").write_text("Свой текст", encoding="utf-8")
    # The layout before messages/: a text at the folder's top level is still read.
    (tmp_path / "button_menu.j2").write_text("В начало", encoding="utf-8")
    settings = Settings(database={"url": f"sqlite+aiosqlite:///{tmp_path}/p.db"},
                        templates={"override_dir": tmp_path})
    rt = build_runtime(settings, FakeFaq())
    try:
        assert rt.texts.render("no_match") == "Свой текст"
        assert rt.texts.render("button_menu") == "В начало"
    finally:
        await rt.engine.dispose()

