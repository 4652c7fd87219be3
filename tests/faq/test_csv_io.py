from __future__ import annotations

from pathlib import Path

import pytest

from faq.csv_io import export_csv, import_csv, parse_csv, to_csv
from faq.loader import KbError, load_kb
from faq.model import Category, Entry, KnowledgeBase, Link
from faq.writer import to_yaml

FIELDS = ("id", "category", "question", "variants", "keywords", "answer")


def _columns(kb):
    return [tuple(getattr(e, f) for f in FIELDS) for e in kb.entries]


def test_round_trip_csv_yaml_csv_is_lossless(rehab_kb, tmp_path: Path) -> None:
    csv_path = tmp_path / "faq.csv"
    export_csv(rehab_kb, csv_path)
    imported = import_csv(csv_path, rehab_kb)
    yaml_path = tmp_path / "faq.yaml"
    yaml_path.write_text(to_yaml(imported), encoding="utf-8")
    reloaded = load_kb([yaml_path])
    assert _columns(reloaded) == _columns(rehab_kb)
    assert reloaded.categories == rehab_kb.categories
    assert reloaded.entry("center.address").links == rehab_kb.entry("center.address").links


def test_without_base_categories_are_made_from_ids() -> None:
    text = 'id,category,question,variants,keywords,answer\nx,help,Q?,A | B,k,"Line 1\nLine 2"\n'
    kb = parse_csv(text, "in.csv")
    assert [(c.id, c.title) for c in kb.categories] == [("help", "help")]
    assert kb.entries[0].variants == ("A", "B")
    assert kb.entries[0].answer == "Line 1\nLine 2"


def test_missing_cells_and_columns_are_problems() -> None:
    with pytest.raises(KbError) as caught:
        parse_csv("id,category,question,variants,keywords,answer\nx,c,,,,A\n", "in.csv")
    assert [p.reason for p in caught.value.problems] == ["line 2: empty question"]
    with pytest.raises(KbError):
        parse_csv("id,question\n", "in.csv")


def test_excel_csv_of_a_russian_windows_is_read(tmp_path: Path) -> None:
    # Excel's "CSV (разделители — запятые)" there: Windows-1251, ";" and CRLF; headers as typed.
    text = (
        "ID;Category;Question;Variants;Keywords;Answer \r\n"
        "family.allowance;family;Как оформить пособие?;Пособие — как получить | Куда подавать;"
        "пособие;\"Через Госуслуги; или в МФЦ.\"\r\n"
    )
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("cp1251"))
    [entry] = import_csv(path).entries
    assert (entry.id, entry.category, entry.question) == (
        "family.allowance", "family", "Как оформить пособие?")
    assert entry.variants == ("Пособие — как получить", "Куда подавать")
    assert entry.answer == "Через Госуслуги; или в МФЦ."


def test_tab_separated_utf8_is_read() -> None:
    text = "id\tcategory\tquestion\tvariants\tkeywords\tanswer\nx\tc\tВопрос?\t\t\tОтвет\n"
    assert [e.answer for e in parse_csv(text, "in.tsv").entries] == ["Ответ"]


def test_semicolon_export_round_trips(rehab_kb, tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    export_csv(rehab_kb, path, ";")
    header = path.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header == ";".join((*FIELDS, "links", "category_title", "category_queue",
                               "institution"))
    assert _columns(import_csv(path, rehab_kb)) == _columns(rehab_kb)


def test_an_unreadable_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(KbError) as caught:
        import_csv(tmp_path / "absent.csv")
    [problem] = caught.value.problems
    assert problem.reason.startswith("cannot read: ")


def test_round_trip_without_base_keeps_links_institution_and_categories(
    rehab_kb, tmp_path: Path
) -> None:
    csv_path = tmp_path / "faq.csv"
    export_csv(rehab_kb, csv_path)
    imported = import_csv(csv_path)
    assert imported.institution == rehab_kb.institution
    assert imported.categories == rehab_kb.categories
    assert imported.entries == rehab_kb.entries
    yaml_path = tmp_path / "faq.yaml"
    yaml_path.write_text(to_yaml(imported), encoding="utf-8")
    assert load_kb([yaml_path]) == rehab_kb


def test_a_category_without_entries_survives_the_round_trip() -> None:
    kb = KnowledgeBase(
        categories=(Category("help", "Помощь", "reception"), Category("new", "Новое")),
        entries=(Entry("x", "help", "Вопрос?", "Ответ"),),
    )
    assert parse_csv(to_csv(kb), "in.csv").categories == kb.categories


def test_links_column_is_title_then_url_separated_by_bars() -> None:
    text = (
        "id,category,question,variants,keywords,answer,links\n"
        'x,c,Q?,,,A,"Госуслуги https://www.gosuslugi.ru/ | Горячая линия tel:+78001234567"\n'
        "y,c,Q2?,,,A2,\n"
    )
    x, y = parse_csv(text, "in.csv").entries
    assert x.links == (Link("Госуслуги", "https://www.gosuslugi.ru/"),
                       Link("Горячая линия", "tel:+78001234567"))
    assert y.links == ()


def test_a_links_column_overrides_the_base_and_its_absence_keeps_the_base(rehab_kb) -> None:
    entry = rehab_kb.entry("center.address")
    row = f"{entry.id},{entry.category},Q?,,,A"
    without = parse_csv(f"id,category,question,variants,keywords,answer\n{row}\n", "a", rehab_kb)
    assert without.entries[0].links == entry.links
    cleared = parse_csv(
        f"id,category,question,variants,keywords,answer,links\n{row},\n", "a", rehab_kb)
    assert cleared.entries[0].links == ()


def test_bad_links_and_conflicting_institutions_are_problems() -> None:
    text = (
        "id,category,question,variants,keywords,answer,links,institution\n"
        "x,c,Q?,,,A,https://no-title.example,Центр\n"
        "y,c,Q?,,,A,Сайт www.example.org,Другой центр\n"
    )
    with pytest.raises(KbError) as caught:
        parse_csv(text, "in.csv")
    reasons = [p.reason for p in caught.value.problems]
    assert reasons[0].startswith("line 2: bad link 1 'https://no-title.example': missing title")
    assert reasons[1].startswith("line 3: bad link 1 'Сайт www.example.org': url must start")
    assert reasons[2] == "different institutions: 'Центр' (line 2), 'Другой центр' (line 3)"


def test_the_file_titles_categories_and_the_base_keeps_the_rest(rehab_kb) -> None:
    text = (
        "id,category,question,variants,keywords,answer,category_title\n"
        ",rehab,,,,,Реабилитация и абилитация\n"
        "x,rehab,Q?,,,A,\n"
    )
    kb = parse_csv(text, "in.csv", rehab_kb)
    assert kb.category("rehab") == Category("rehab", "Реабилитация и абилитация", "rehab")
    assert kb.category("center") == rehab_kb.category("center")
    assert kb.institution == rehab_kb.institution


def test_a_row_with_entry_cells_but_no_id_is_a_problem_not_a_category_row() -> None:
    text = "id,category,question,variants,keywords,answer\n,help,,Вариант,,\n"
    with pytest.raises(KbError) as caught:
        parse_csv(text, "in.csv")
    assert [p.reason for p in caught.value.problems] == [
        "line 2: empty id", "line 2: empty question", "line 2: empty answer"]


def test_formula_shaped_cells_are_defused_and_come_back_as_written() -> None:
    evil = '=HYPERLINK("http://evil.example/x","нажми")'
    kb = KnowledgeBase(
        categories=(Category("help", "Помощь"),),
        entries=(Entry("x", "help", evil, "- Паспорт\n- СНИЛС", variants=("+7 это код",)),
                 Entry("y", "help", "Обычный вопрос?", "'цитата' остаётся"),),
    )
    text = to_csv(kb, ";")
    assert "\"'=HYPERLINK(" in text and "\"'- Паспорт" in text and ";'+7 это код;" in text
    assert "'цитата' остаётся" in text and "''цитата" not in text
    assert parse_csv(text, "in.csv").entries == kb.entries


HEADER = "id;category;question;variants;keywords;answer\n"


def _problems(data: bytes, tmp_path: Path) -> list[str]:
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    with pytest.raises(KbError) as caught:
        import_csv(path)
    return [p.reason for p in caught.value.problems]


def test_a_stray_windows_1251_byte_in_utf8_is_refused_naming_its_line(tmp_path: Path) -> None:
    # «№» pasted from an old document into a UTF-8 file: reading the whole file as
    # Windows-1251 would garble every Russian letter («РЎРµРјСЊРё»).
    good = (HEADER + "a;family;Семьи с детьми?;;;Ответ\n").encode()
    bad = "b;family;Справка?;;;Справка ".encode() + b"\xb9" + " 5 о составе семьи\n".encode()
    assert _problems(good + bad, tmp_path) == [
        "line 3: answer: unreadable byte 0xB9 («№» in Windows-1251) after «Справка»: retype "
        'that character in the spreadsheet and save the file as "CSV UTF-8"']


def test_unreadable_lines_are_named_up_to_ten_then_counted(tmp_path: Path) -> None:
    rows = "".join(f"e{n};c;Вопрос {n}?;;;Ответ\n" for n in range(30)).encode()
    data = HEADER.encode() + rows.replace("Ответ".encode(), "Ответ ".encode() + b"\x98", 12)
    reasons = _problems(data, tmp_path)
    assert len(reasons) == 11
    assert reasons[0].startswith("line 2: answer: unreadable byte 0x98 after «Ответ»")
    assert reasons[-1] == "and 2 more lines like these"


def test_windows_1251_with_a_few_utf8_shaped_letter_pairs_is_still_windows_1251(
    tmp_path: Path,
) -> None:
    # «Р» (D0) before «»» (BB) is a valid UTF-8 letter: a real Windows-1251 file may hold a few.
    text = HEADER + "x;c;Где «ЦЕНТР»?;;;Ул. Ленина, 1 — «ЦЕНТР»\n"
    path = tmp_path / "in.csv"
    path.write_bytes(text.encode("cp1251"))
    assert import_csv(path).entries[0].answer == "Ул. Ленина, 1 — «ЦЕНТР»"


def test_utf8_text_garbled_by_a_windows_1251_reading_is_refused(tmp_path: Path) -> None:
    garbled = "Семьи с детьми".encode().decode("cp1251")
    reasons = _problems((HEADER + f"x;c;{garbled}?;;;Ответ\n").encode(), tmp_path)
    assert reasons == [
        "line 2: question: garbled text «РЎРµРјСЊРё СЃ РґРµС‚…» (UTF-8 read as Windows-1251 on "
        "the way): write it again or copy it from the original, or start again from a file "
        "that `priemnaya faq export` writes (Excel opens those correctly)"]


def test_rows_of_only_separators_or_spaces_are_skipped() -> None:
    text = HEADER + ";;;;;\nx;c;Вопрос?;;;Ответ\r\n;;;;;;;;;\r\n  ;\t; \n   \n"
    assert [e.id for e in parse_csv(text, "in.csv").entries] == ["x"]


@pytest.mark.parametrize("start", [b"PK\x03\x04\x14\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"])
def test_an_excel_workbook_is_refused_in_one_line(start: bytes, tmp_path: Path) -> None:
    assert _problems(start + b"\r\x00\n\x00" * 50, tmp_path) == [
        'this is an Excel workbook, not CSV: save it in Excel as "CSV UTF-8" (File → Save As) '
        "and import that file"]


def test_excel_unicode_text_utf16_and_tabs_is_read(tmp_path: Path) -> None:
    text = ("id\tcategory\tquestion\tvariants\tkeywords\tanswer\r\n"
            'x\tc\tВопрос?\tВариант\t\t"Строка 1\r\nСтрока 2"\r\n')
    path = tmp_path / "unicode.txt"
    path.write_bytes(text.encode("utf-16"))
    [entry] = import_csv(path).entries
    assert (entry.question, entry.variants, entry.answer) == (
        "Вопрос?", ("Вариант",), "Строка 1\nСтрока 2")


def test_text_the_csv_reader_rejects_is_one_problem_with_its_line() -> None:
    with pytest.raises(KbError) as caught:
        parse_csv(HEADER + "x;c;Вопрос?;;;Ответ\ny;c;Во\rпрос?;;;Ответ\n", "in.csv")
    assert [p.reason for p in caught.value.problems] == [
        "line 3: not readable as CSV (new-line character seen in unquoted field): "
        'save it in Excel as "CSV UTF-8" (File → Save As) and import that file']


def test_lines_of_a_cell_separate_variants_keywords_and_links() -> None:
    text = (
        "id,category,question,variants,keywords,answer,links\n"
        'x,c,Q?,"Первый\r\nВторой | Третий","пособие\nвыплата",A,'
        '"Госуслуги https://www.gosuslugi.ru/\nГорячая линия tel:+78001234567"\n'
    )
    [entry] = parse_csv(text, "in.csv").entries
    assert entry.variants == ("Первый", "Второй", "Третий")
    assert entry.keywords == ("пособие", "выплата")
    assert entry.links == (Link("Госуслуги", "https://www.gosuslugi.ru/"),
                           Link("Горячая линия", "tel:+78001234567"))


def test_two_links_run_together_are_refused() -> None:
    text = (
        "id,category,question,variants,keywords,answer,links\n"
        'x,c,Q?,,,A,"Госуслуги https://www.gosuslugi.ru/ ; Горячая линия tel:+78001234567"\n'
    )
    with pytest.raises(KbError) as caught:
        parse_csv(text, "in.csv")
    assert [p.reason for p in caught.value.problems] == [
        "line 2: bad link 1 'Госуслуги https://www.gosuslugi.ru/ ; Горячая линия "
        "tel:+78001234567': two links run together: separate links with \" | \" or put each "
        "on its own line of the cell, each as its title then its address"]


def test_drafts_of_unanswered_questions_import_once_completed(rehab_kb) -> None:
    from faq.csv_io import drafts_csv, parse_csv

    text = drafts_csv([("Есть ли у вас бассейн?", ["бассейн работает?", "плавание"]),
                       ("=СУММ(1;2)", [])])
    rows = text.splitlines()
    assert rows[1] == "new.question-1;;Есть ли у вас бассейн?;бассейн работает? | плавание;;"
    assert rows[2] == "new.question-2;;\"'=СУММ(1;2)\";;;"  # a formula stays text in Excel
    category = rehab_kb.categories[0].id
    done = "\n".join([rows[0], rows[1].replace(";;Есть", f";{category};Есть")
                      .removesuffix(";;") + ";;Да, по вторникам."])
    kb = parse_csv(done, "gaps.csv", rehab_kb)
    entry = kb.entry("new.question-1")
    assert entry is not None and entry.category == category
    assert entry.variants == ("бассейн работает?", "плавание")
    assert entry.answer == "Да, по вторникам."


def test_a_crlf_file_with_a_cell_of_several_lines_gives_plain_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "kb.csv"
    path.write_bytes("id;category;question;variants;keywords;answer\r\n"
                     'fuel.a;fuel;Как получить?;;;"Подайте заявление.\r\nСрок — 10 дней.\r"\r\n'
                     .encode("utf-8-sig"))
    [entry] = import_csv(path).entries
    assert entry.answer == "Подайте заявление.\nСрок — 10 дней."
    assert "\\r" not in to_yaml(import_csv(path))


def test_an_unclosed_quote_is_named_with_its_line_not_as_empty_cells() -> None:
    with pytest.raises(KbError) as caught:
        parse_csv(HEADER + 'ok;fuel;Вопрос?;;;"Ответ\nв две строки"\n'
                  'fuel.z;fuel;"unclosed;a;b;c\nx.y;fuel;Вопрос;;;Ответ\n', "in.csv")
    assert [p.reason for p in caught.value.problems] == [
        'line 4: a quote (") opened in this row is never closed, so the rest of the file was '
        'read as one cell: close it, or write a quote inside a text as two ("")']


def test_a_quote_inside_an_unquoted_cell_is_text() -> None:
    kb = parse_csv(HEADER + 'tv;c;Экран 5" дюймов?;;;Ответ\n', "in.csv")
    assert kb.entries[0].question == 'Экран 5" дюймов?'
