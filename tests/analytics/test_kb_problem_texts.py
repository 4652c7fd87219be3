"""The knowledge base's problems as the admin pages say them: in Russian, from their kind."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from faq.live import ReloadFailure
from faq.loader import check_kb
from faq.problems import Problem, ProblemKind
from faq.synonyms import check_synonyms
from priemnaya.webapp import WEB_TEMPLATES

ENGLISH = "the loader's own words"


def say(problem: Problem) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB_TEMPLATES), autoescape=True)
    template = env.from_string('{% from "kb_problem.html" import kb_problem %}{{ kb_problem(p) }}')
    return " ".join(template.render(p=problem).split())


@pytest.mark.parametrize("kind", [k for k in ProblemKind if k is not ProblemKind.OTHER])
def test_every_kind_of_problem_has_russian_words(kind: ProblemKind) -> None:
    text = say(Problem("kb.yaml", "hours", ENGLISH, kind, ("3", "question", "tab")))
    assert text.startswith("kb.yaml: запись hours: ")
    assert ENGLISH not in text
    assert any("а" <= c <= "я" for c in text.split(": ", 2)[2])


def test_a_problem_of_no_known_kind_keeps_its_reason() -> None:
    assert say(Problem("kb.csv", "", "line 3: missing column 'answer'")) == \
        "kb.csv: line 3: missing column &#39;answer&#39;"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_what_the_loader_finds_reads_in_russian(tmp_path: Path) -> None:
    kb = write(tmp_path / "kb.yaml", "categories:\n  - {id: help, title: Помощь}\nentries:\n"
               "  - {id: hours, category: legal, question: Когда, answer: С 9.}\n"
               "  - {id: hours, category: help, question: Ещё, answer: ''}\n"
               "  - {id: walk, category: help, question: Как, answer: Так, colour: red}\n")
    tab = write(tmp_path / "tab.yaml", "entries:\n\t- id: x\n")
    said = [say(p) for p in check_kb([kb, tab])]
    assert said == [
        f"{kb}: запись hours: поле «answer (ответ)» пустое",
        f"{kb}: запись hours: запись с таким id уже есть (в файле {kb}): у каждой записи свой id",
        f"{kb}: запись walk: неизвестное поле «colour»: проверьте, не опечатка ли это",
        f"{tab}: строка 2 «- id: x»: в отступе символ табуляции: отступы в YAML делаются только "
        "пробелами, замените его пробелами",
        f"{kb}: запись hours: раздела (category) «legal» нет среди разделов базы знаний",
    ]


def test_a_broken_synonyms_file_reads_in_russian(tmp_path: Path) -> None:
    synonyms = write(tmp_path / "synonyms.yaml", 'groups:\n  - ["ЖКУ", "коммуналка"\n')
    [problem] = check_synonyms([synonyms])
    assert say(problem).startswith(f"{synonyms}: строка 2 «- [&#34;ЖКУ&#34;, "
                                   "&#34;коммуналка&#34;»: список в квадратных скобках")


def test_a_start_on_the_last_good_copy_says_so() -> None:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB_TEMPLATES), autoescape=True)
    failure = ReloadFailure((Problem("kb.yaml", "", "x", ProblemKind.NO_FILES),),
                            on_last_good=True)
    html = " ".join(env.get_template("kb_failure.html").render(kb_failure=failure).split())
    assert "База знаний не загрузилась при запуске." in html
    assert "по последней копии, которая загружалась без ошибок" in html
    assert "<li>kb.yaml: файлы базы знаний не найдены</li>" in html
