"""JinjaTexts: an institution's edited template takes effect without a restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from handlers import texts
from handlers.texts import JinjaTexts


def edit(template: Path, text: str) -> None:
    template.write_text(text, encoding="utf-8")
    stat = template.stat()
    os.utime(template, (stat.st_atime, stat.st_mtime + 5))  # a later mtime, as an edit has


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The clock the recheck reads; tests move it on."""
    clock = [1000.0]
    monkeypatch.setattr(texts.time, "monotonic", lambda: clock[0])
    return clock


def test_an_edited_override_is_read_again_after_the_recheck_interval(
        tmp_path: Path, now: list[float]) -> None:
    template = tmp_path / "greeting.j2"
    template.write_text("Добрый день, {{ who }}!", encoding="utf-8")
    jinja = JinjaTexts([tmp_path])
    assert jinja.render("greeting", who="Анна") == "Добрый день, Анна!"

    edit(template, "Здравствуйте, {{ who }}!")
    now[0] += texts.RECHECK_S / 2
    assert jinja.render("greeting", who="Анна") == "Добрый день, Анна!"  # not looked at yet
    now[0] += texts.RECHECK_S
    assert jinja.render("greeting", who="Анна") == "Здравствуйте, Анна!"
    # The defaults stay behind the overrides.
    assert "Задать вопрос специалисту" in jinja.render("button_specialist")


def test_an_edited_text_without_variables_is_read_again_too(
        tmp_path: Path, now: list[float]) -> None:
    # Such texts (button labels) are kept rendered; an edit must still reach clients.
    template = tmp_path / "button_menu.j2"
    template.write_text("Меню", encoding="utf-8")
    jinja = JinjaTexts([tmp_path])
    assert jinja.render("button_menu") == jinja.render("button_menu") == "Меню"
    edit(template, "Главное меню")
    now[0] += texts.RECHECK_S * 2
    assert jinja.render("button_menu") == "Главное меню"


def test_an_override_added_while_running_takes_over_from_the_default(
        tmp_path: Path, now: list[float]) -> None:
    jinja = JinjaTexts([tmp_path / "messages", tmp_path])
    default = jinja.render("button_menu")
    (tmp_path / "messages").mkdir()
    (tmp_path / "messages" / "button_menu.j2").write_text("В начало", encoding="utf-8")
    assert jinja.render("button_menu") == default  # not looked at yet
    now[0] += texts.RECHECK_S * 2
    assert jinja.render("button_menu") == "В начало"
    # Removed again: the default comes back.
    (tmp_path / "messages" / "button_menu.j2").unlink()
    now[0] += texts.RECHECK_S * 2
    assert jinja.render("button_menu") == default


@pytest.mark.parametrize(("n", "form"), [
    (1, "знак"), (21, "знак"), (4001, "знак"), (2, "знака"), (4, "знака"), (4002, "знака"),
    (5, "знаков"), (11, "знаков"), (12, "знаков"), (14, "знаков"), (111, "знаков"),
    (4005, "знаков"), (0, "знаков"),
])
def test_plural_agrees_with_the_number(n: int, form: str) -> None:
    assert texts.plural(n, "знак", "знака", "знаков") == form


def test_templates_can_use_plural(tmp_path: Path) -> None:
    (tmp_path / "count.j2").write_text('{{ n }} {{ plural(n, "знак", "знака", "знаков") }}',
                                       encoding="utf-8")
    assert JinjaTexts([tmp_path]).render("count", n=4002) == "4002 знака"
