"""An institution's page or text added to its folder takes over while the service runs."""

from __future__ import annotations

from pathlib import Path

import jinja2

from handlers.texts import OverridingLoader
from priemnaya.webapp import WEB_TEMPLATES


def test_a_page_added_to_the_institutions_folder_takes_over_while_running(
        tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    env = jinja2.Environment(loader=OverridingLoader([tmp_path / "web", WEB_TEMPLATES]),
                             autoescape=True)
    assert env.get_template("chat.html").filename == str(WEB_TEMPLATES / "chat.html")
    (tmp_path / "web" / "chat.html").write_text("своя страница", encoding="utf-8")
    assert env.get_template("chat.html").render() == "своя страница"
    (tmp_path / "web" / "chat.html").unlink()
    assert env.get_template("chat.html").filename == str(WEB_TEMPLATES / "chat.html")
