from __future__ import annotations

from pathlib import Path

import pytest

from faq.loader import KbError, check_kb, kb_files, load_kb

from .conftest import REHAB

GOOD_CATEGORY = "categories:\n  - {id: c, title: C}\n"


def _write(tmp_path: Path, text: str, name: str = "kb.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _reasons(tmp_path: Path, entries: str) -> list[tuple[str, str]]:
    path = _write(tmp_path, GOOD_CATEGORY + "entries:\n" + entries)
    return [(p.entry_id, p.reason) for p in check_kb([path])]


def test_sample_kb_loads_with_all_fields(rehab_kb) -> None:
    entry = rehab_kb.entry("center.address")
    assert len(rehab_kb.entries) == 13
    assert rehab_kb.category("equipment").title == "Технические средства"
    assert entry.links[0].url == "https://example.org/map"
    assert rehab_kb.institution.startswith("Реабилитационный")


def test_folder_is_merged_and_ids_across_files_must_be_unique(tmp_path: Path) -> None:
    _write(tmp_path, REHAB.read_text(encoding="utf-8"), "a.yaml")
    _write(
        tmp_path,
        "entries:\n  - {id: center.phone, category: center, question: Q, answer: A}\n",
        "b.yml",
    )
    problems = check_kb([tmp_path])
    assert [(Path(p.file).name, p.entry_id, p.reason[:12]) for p in problems] == [
        ("b.yml", "center.phone", "duplicate id")
    ]


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            "  - {id: a, category: c, question: Q, answer: A, colour: red}\n",
            ("a", "unknown key 'colour'"),
        ),
        ("  - {id: a, category: c, answer: A}\n", ("a", "missing field 'question'")),
        (
            "  - {id: a, category: nope, question: Q, answer: A}\n",
            ("a", "unknown category 'nope'"),
        ),
        ("  - {id: a, category: c, question: Q, answer: '  '}\n", ("a", "empty answer")),
        ("  - {id: a, category: c, question: Q, answer: ''}\n", ("a", "empty answer")),
        ("  - {id: a, category: c, question: '', answer: A}\n", ("a", "empty question")),
        (
            "  - {id: a, category: c, question: Q, answer: A, variants: x}\n",
            ("a", "variants must be a list of texts"),
        ),
        ("  - {id: a, category: c, question: [Q], answer: A}\n", ("a", "question must be text")),
    ],
)
def test_each_kind_of_entry_problem(
    tmp_path: Path, entries: str, expected: tuple[str, str]
) -> None:
    assert _reasons(tmp_path, entries) == [expected]


def test_a_repeated_key_is_reported_not_silently_dropped(tmp_path: Path) -> None:
    # YAML keeps the last of two equal keys: the first answer would vanish without a word.
    entries = (
        "  - id: a\n"
        "    category: c\n"
        "    question: Q\n"
        "    answer: First answer\n"
        "    answer: Second answer\n"
        "    links:\n"
        "      - {title: T, url: 'https://a.example', url: 'https://b.example'}\n"
    )
    assert _reasons(tmp_path, entries) == [
        ("a", "duplicate key 'answer' (line 8)"),
        ("", "duplicate key 'url' (line 10)"),
    ]
    with pytest.raises(KbError):
        load_kb([tmp_path / "kb.yaml"])


def test_a_value_cut_short_by_a_hash_is_reported_with_its_line(tmp_path: Path) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text(
        "categories:\n  - {id: c, title: C}  # author's note\nentries:\n"
        "  - id: a\n    category: c\n    question: Где юрист?   # reviewed\n"
        "    answer: Приходите в кабинет #5 на втором этаже\n"
        "  - {id: b, category: c, question: Сайт, answer: 'https://site.ru/#about'}\n",
        encoding="utf-8")
    problems = check_kb([kb])
    assert [str(p) for p in problems] == [
        f"{kb}: -: line 7: the text after ' #' was read as a YAML comment and dropped; put "
        "the whole text in quotes (\"…\") to keep it"]


@pytest.mark.parametrize(("text", "says"), [
    ("entries:\n  - id: a\n\tcategory: c\n", "line 3 «category: c»: a tab character"),
    ("entries:\n  - id: a\n    question: Часы работы: 8:30\n",
     "line 3 «question: Часы работы: 8:30»: a colon followed by a space inside a text"),
    ("entries:\n  - id: a\n    question: \"Где?\n    answer: A\n",
     "line 3 «question: \"Где?»: a quote («\"» or «'») opened here is never closed"),
    ("entries:\n  - id: a\n    question: Q\n   answer: A\n",
     "line 4 «answer: A»: this line is not indented like the lines above it"),
    # Closed by the next entry's quote, the open one makes YAML trip lines further down.
    ("entries:\n  - id: a\n    question: \"Где?\n    answer: A\n  - id: b\n"
     "    question: \"Q\"\n", "line 3 «question: \"Где?»: a quote («\"» or «'») opened here"),
])
def test_yaml_mistakes_are_explained_in_plain_words(tmp_path: Path, text: str,
                                                    says: str) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text(text, encoding="utf-8")
    [problem] = check_kb([kb])
    assert problem.reason.startswith(f"bad YAML: {says}"), problem.reason


def test_a_file_saved_in_windows_1251_is_named_as_such(tmp_path: Path) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_bytes("categories:\n  - {id: c, title: Семья}\n".encode("cp1251"))
    [problem] = check_kb([kb])
    assert problem.reason.startswith("line 2: the file is not in UTF-8 (it looks like "
                                     "Windows-1251): save it as UTF-8")


def test_garbled_text_is_a_problem(tmp_path: Path) -> None:
    kb = tmp_path / "kb.yaml"
    garbled = "Как оформить пособие?".encode().decode("cp1251")
    kb.write_text("categories:\n  - {id: c, title: C}\nentries:\n"
                  f"  - {{id: a, category: c, question: '{garbled}', answer: Ответ}}\n"
                  "  - {id: b, category: c, question: 'Справка', answer: 'СССР и РСФСР'}\n",
                  encoding="utf-8")
    [problem] = check_kb([kb])
    assert (problem.entry_id, problem.reason) == (
        "a", f"question: garbled text «{garbled[:20]}…»: retype it or copy it again from the "
        "original")


def test_bad_link_is_reported_with_the_entry(tmp_path: Path) -> None:
    entries = "  - {id: a, category: c, question: Q, answer: A, links: [{title: T, url: ftp:x}]}\n"
    [(entry_id, reason)] = _reasons(tmp_path, entries)
    assert entry_id == "a" and reason.startswith("bad link 1: url must start with")


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    entries = (
        "  - {id: a, category: c, question: Q, answer: A}\n"
        "  - {id: a, category: c, question: Q, answer: A}\n"
        "  - {id: b, category: zz, question: Q, answer: ''}\n"
        "  - {id: d, category: c, question: Q, answer: A, extra: 1}\n"
    )
    assert len(_reasons(tmp_path, entries)) == 4


def test_bad_yaml_and_unknown_top_key(tmp_path: Path) -> None:
    broken = _write(tmp_path, "entries: [\n", "broken.yaml")
    odd = _write(tmp_path, GOOD_CATEGORY + "faq: []\n", "odd.yaml")
    reasons = [p.reason for p in check_kb([broken, odd])]
    assert reasons[0].startswith("bad YAML")
    assert reasons[1] == "unknown key 'faq'"


def test_load_kb_raises_with_all_problems(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_CATEGORY + "entries:\n  - {id: a, category: x, question: Q}\n")
    with pytest.raises(KbError) as caught:
        load_kb([path])
    assert {p.reason for p in caught.value.problems} == {
        "missing field 'answer'",
        "unknown category 'x'",
    }
    assert str(caught.value.problems[0]).startswith(f"{path}: a: ")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_a_file_saved_in_utf16_is_named_as_such(tmp_path: Path, encoding: str) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_bytes("categories:\n  - {id: c, title: Семья}\n".encode(encoding))
    [problem] = check_kb([kb])
    assert (problem.kind, problem.reason) == (
        "not_utf8", "the file is in UTF-16 (Notepad's «Юникод», Excel's «Текст в Юникоде»), "
        "not UTF-8: save it as UTF-8 (Notepad: «Сохранить как» → Кодировка UTF-8)")


def test_files_with_an_upper_case_extension_are_found_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "KCSON.YAML").write_text(REHAB.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "extra.Yml").write_text("categories: [{id: more, title: Ещё}]\n",
                                        encoding="utf-8")
    (tmp_path / "notes.txt").write_text("не база знаний\n", encoding="utf-8")
    assert [p.name for p in kb_files([tmp_path])] == ["KCSON.YAML", "extra.Yml"]
    assert len(load_kb([tmp_path]).entries) == 13
