"""JinjaTexts: an institution's edited template takes effect without a restart."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest

from faq.model import Entry
from handlers import texts
from handlers.texts import JinjaTexts, check_overrides, unknown_variables


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


def test_an_edited_answer_template_is_read_again_too(tmp_path: Path, now: list[float]) -> None:
    # An entry's answer is kept rendered per entry and flags; an edit must still reach clients.
    entry = Entry("e", "c", "Часы работы?", "С 9 до 18.")
    template = tmp_path / "answer.j2"
    template.write_text("{{ entry.answer }}{% if waiting %} Специалист ответит.{% endif %}",
                        encoding="utf-8")
    jinja = JinjaTexts([tmp_path])
    assert jinja.render("answer", entry=entry, waiting=False) == "С 9 до 18."
    assert jinja.render("answer", entry=entry, waiting=True) == "С 9 до 18. Специалист ответит."
    assert jinja.render("answer", entry=entry, waiting=False) == "С 9 до 18."
    edit(template, "Ответ: {{ entry.answer }}")
    now[0] += texts.RECHECK_S * 2
    assert jinja.render("answer", entry=entry, waiting=False) == "Ответ: С 9 до 18."
    other = Entry("e", "c", "Часы работы?", "С 10 до 17.")  # the knowledge base was edited
    assert jinja.render("answer", entry=other, waiting=False) == "Ответ: С 10 до 17."


def test_a_render_with_a_clients_words_is_not_kept(tmp_path: Path) -> None:
    """A crisis hit's fragment or a requested topic is the client's own text: rendered each
    time, never kept in memory after the message is handled."""
    (tmp_path / "topic.j2").write_text("Тема: {{ topic }} {{ entries|length }}", encoding="utf-8")
    jinja = JinjaTexts([tmp_path])
    entries = [Entry("e", "c", "Вопрос?", "Ответ.")]
    assert jinja.render("topic", topic="пенсия", entries=entries) == "Тема: пенсия 1"
    assert jinja.render("topic", entries=entries, topic="") == "Тема:  1"
    assert not jinja._rendered
    assert texts._context_key("x", {"kinds": ["photo"]}) is None
    assert texts._context_key("x", {"entries": entries, "buttons": True}) == (
        "x", "entries", tuple(entries), "buttons", True)


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


DEFAULT_NO_MATCH = "К сожалению, я не нашёл точного ответа"


def test_an_override_that_does_not_compile_gives_the_default_and_one_error(
        tmp_path: Path, now: list[float], caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / "no_match.j2"
    broken.write_text("Не нашла ответа {% if x %} сломано\n", encoding="utf-8")
    jinja = JinjaTexts([tmp_path])
    with caplog.at_level("ERROR", logger="handlers.texts"):
        for _ in range(3):
            assert jinja.render("no_match").startswith(DEFAULT_NO_MATCH)
            now[0] += texts.RECHECK_S * 2  # read again: still broken, not logged again
    assert len(caplog.records) == 1
    assert str(broken) in caplog.text
    [found] = jinja.broken()
    assert found.file == str(broken)
    assert found.error.startswith("line 1: Unexpected end of template")

    edit(broken, "Не нашла ответа.")
    now[0] += texts.RECHECK_S * 2
    assert jinja.render("no_match") == "Не нашла ответа."
    assert jinja.broken() == []


def test_an_undefined_variable_in_an_override_gives_the_default(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # StrictUndefined: a name the template is not given fails the render, not prints empty.
    (tmp_path / "answer.j2").write_text("{{ client.name }}, {{ entry.answer }}", "utf-8")
    jinja = JinjaTexts([tmp_path])
    entry = SimpleNamespace(answer="С 9 до 18.", links=())
    with caplog.at_level("ERROR", logger="handlers.texts"):
        for _ in range(3):
            assert jinja.render("answer", entry=entry, waiting=False) == "С 9 до 18."
    assert len(caplog.records) == 1
    [found] = jinja.broken()
    assert (found.file, found.error) == (
        str(tmp_path / "answer.j2"), "UndefinedError: 'client' is undefined")


def test_a_broken_default_is_a_bug_and_is_raised(tmp_path: Path) -> None:
    jinja = JinjaTexts([tmp_path])
    with pytest.raises(jinja2.UndefinedError):
        jinja.render("answer", waiting=False)  # no entry: the caller's mistake


def test_the_settings_check_names_overrides_that_do_not_compile(tmp_path: Path) -> None:
    (tmp_path / "no_match.j2").write_text("Не нашла {% if x %}", encoding="utf-8")
    (tmp_path / "menu.j2").write_text("{{ 'a' | no_such_filter }}", encoding="utf-8")
    (tmp_path / "answer.j2").write_text("{{ client.name }}: {{ entry.answer }}", "utf-8")
    assert [str(b) for b in check_overrides([tmp_path])] == [
        f"{tmp_path / 'menu.j2'}: line 1: No filter named 'no_such_filter'.",
        f"{tmp_path / 'no_match.j2'}: line 1: Unexpected end of template. Jinja was looking "
        "for the following tags: 'elif' or 'else' or 'endif'. The innermost block that needs "
        "to be closed is 'if'.",
    ]
    assert unknown_variables([tmp_path]) == [
        f"{tmp_path / 'answer.j2'}: uses client, which the default answer.j2 does not: "
        "clients get the default text if it is not given"]


def test_an_override_that_does_not_compile_is_listed_before_any_client_meets_it(
        tmp_path: Path, now: list[float]) -> None:
    broken = tmp_path / "menu.j2"
    broken.write_text("{% for %}", encoding="utf-8")
    jinja = JinjaTexts([tmp_path])
    assert [b.file for b in jinja.broken()] == [str(broken)]
    broken.unlink()
    now[0] += texts.RECHECK_S * 2
    assert jinja.broken() == []


def test_an_override_saved_in_windows_1251_gives_the_default(tmp_path: Path) -> None:
    (tmp_path / "no_match.j2").write_bytes("Не нашла ответа".encode("cp1251"))
    jinja = JinjaTexts([tmp_path])
    assert jinja.render("no_match").startswith(DEFAULT_NO_MATCH)
    assert [str(b) for b in jinja.broken()] == [f"{tmp_path / 'no_match.j2'}: not UTF-8"]
