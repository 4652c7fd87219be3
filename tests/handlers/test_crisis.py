"""Crisis rules: realistic Russian messages that must and must not raise an alarm."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from handlers.crisis import (
    CrisisHit,
    CrisisKind,
    CrisisRules,
    CrisisRulesError,
    load_crisis_rules,
    normalize,
)
from handlers.texts import JinjaTexts

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = yaml.safe_load((Path(__file__).with_name("crisis_messages.yaml")).read_text("utf-8"))


@pytest.fixture(scope="module")
def rules() -> CrisisRules:
    return load_crisis_rules(ROOT / "config" / "crisis_rules.yaml")


def test_fixture_has_enough_messages() -> None:
    assert len(MESSAGES["trigger"]) >= 30
    assert len(MESSAGES["quiet"]) >= 30


@pytest.mark.parametrize("case", MESSAGES["trigger"], ids=lambda c: c["text"])
def test_alarm(rules: CrisisRules, case: dict[str, str]) -> None:
    hit = rules.detect(case["text"])
    assert hit is not None
    assert hit.kind is CrisisKind(case["kind"])
    assert hit.help_key == "crisis_help"


@pytest.mark.parametrize("case", MESSAGES["quiet"], ids=lambda c: c["text"])
def test_no_alarm(rules: CrisisRules, case: dict[str, object]) -> None:
    assert rules.detect(str(case["text"])) is None
    assert list(rules.flags(str(case["text"]))) == case.get("flags", [])


def test_hit_names_rule_and_fragment(rules: CrisisRules) -> None:
    hit = rules.detect("Помогите!!! Ребёнок один дома третий день, мать ушла")
    assert hit is not None
    assert (hit.rule_id, hit.kind) == ("child_alone", CrisisKind.CHILD_DANGER)
    assert hit.fragment == "ребенок один дома третий день"


def test_normalize() -> None:
    assert normalize("  Ребёнок-инвалид!!! Что делать?") == "ребенок инвалид что делать"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", ": bad YAML: line 1, column 9: expected the node content, but found "
                     "'<stream end>' (while parsing a flow node from line 1)"),
        ("rules:\n  - id: x\n    patterns: [a, b\n  bad: : :\n",
         ": bad YAML: line 4, column 6: expected ',' or ']', but got ':' "
         "(while parsing a flow sequence from line 3)"),
        ("- a\n- b\n", ": expected a mapping with a list under 'rules'"),
        ("rules:\n  - kind: suicide\n", ": rule '#1': needs a text 'id'"),
        (
            "rules:\n  - {id: a, kind: [despair], patterns: [x]}\n",
            ": rule 'a': kind ['despair'] is not one of suicide, violence, child_danger, "
            "threat_to_life",
        ),
        ("rules:\n  - {id: a, kind: suicide}\n", ": rule 'a': needs at least one pattern"),
        (
            "rules:\n  - {id: a, kind: suicide, patterns: ['re:(']}\n",
            ": rule 'a': pattern 're:(': missing ), unterminated subpattern at position 0",
        ),
        (
            "rules:\n  - {id: a, kind: suicide, patterns: ['уб*ить']}\n",
            ": rule 'a': pattern 'уб*ить': 'уб*ить' must be words, '|' and a trailing '*'",
        ),
        (
            "rules:\n  - {id: a, kind: suicide, patterns: ['a||b']}\n",
            ": rule 'a': pattern 'a||b': 'a||b' must be words, '|' and a trailing '*'",
        ),
        (
            "rules:\n  - {id: a, kind: suicide, patterns: [x], gap: 9}\n",
            ": rule 'a': gap 9 is not a whole number from 0 to 5",
        ),
        (
            "rules:\n  - {id: a, kind: suicide, patterns: [x], pattern: [y]}\n",
            ": rule 'a': unknown keys ['pattern']",
        ),
        (
            "rules:\n  - {id: a, kind: suicide, patterns: x}\n",
            ": rule 'a': 'patterns' must be a list of non-empty texts",
        ),
        (
            "rules:\n  - {id: a, kind: suicide, patterns: [x]}\n"
            "flags:\n  - {id: a, patterns: [y]}\n",
            ": rule 'a': id is used twice",
        ),
        (
            "rules:\n  - id: a\n    kind: suicide\n    patterns: [x]\n    patterns: [y]\n",
            ": rule 'a': duplicate key 'patterns' (line 5)",
        ),
    ],
)
def test_invalid_files_name_file_rule_and_reason(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CrisisRulesError) as info:
        load_crisis_rules(path)
    assert str(info.value).startswith(str(path) + message)


def test_a_file_not_in_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes("rules:\n  - {id: a, patterns: [суицид]}\n".encode("cp1251"))
    with pytest.raises(CrisisRulesError) as info:
        load_crisis_rules(path)
    assert str(info.value) == f"{path}: line 2: not UTF-8 (saved as Windows-1251?)"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CrisisRulesError, match=r"cannot read: .*No such file") as info:
        load_crisis_rules(tmp_path / "absent.yaml")
    assert info.value.rule is None


def test_gap_controls_words_in_between(tmp_path: Path) -> None:
    text = "rules:\n  - {id: a, kind: violence, gap: 0, patterns: ['бьет меня']}\n"
    rules = load_crisis_rules(write(tmp_path, text))
    assert rules.detect("бьёт меня") is not None
    assert rules.detect("бьёт и меня") is None


def test_odd_input_never_crashes(rules: CrisisRules) -> None:
    for text in ("", "   ", "!!!", "😀" * 500, "а" * 100_000, "\x00\n\t"):
        assert rules.detect(text) is None


FIRST = (
    "Если жизни угрожает опасность прямо сейчас, звоните 112. Это бесплатно, с любого телефона,"
    " даже если на счёте нет денег.\nСпециалист центра уже получил ваше сообщение.\n"
)
FIRST_112 = FIRST.removesuffix("Специалист центра уже получил ваше сообщение.\n")
CHILD_LINE = (
    "Детский телефон доверия: 8-800-2000-122. Звонок бесплатный, круглосуточно."
    " Звонить могут дети, подростки и родители.\n"
)
# Police first: the women's line is not for everyone who is hurt at home.
WOMEN_LINE = (
    "Если вас обижают или бьют дома (женщину, мужчину, пожилого человека), звоните в полицию:"
    " 102. Звонок бесплатный, с мобильного тоже.\n"
    "Для женщин, пострадавших от насилия, — телефон помощи: 8-800-7000-600. Звонок бесплатный.\n"
)
ADULT_LINE = "Психологическая помощь МЧС России: 8-495-989-50-50, круглосуточно.\n"
LAST = "Вы не одни, мы поможем."


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("не хочу жить", FIRST + ADULT_LINE + CHILD_LINE + LAST),
        ("ребёнок один дома третий день", FIRST + CHILD_LINE + LAST),
        ("меня бьёт муж", FIRST + WOMEN_LINE + LAST),
        ("угрожает ножом", FIRST + LAST),
    ],
)
def test_crisis_help_template(rules: CrisisRules, message: str, expected: str) -> None:
    # The service's own renderer: its whitespace settings (trim_blocks) are what clients get;
    # a bare jinja2 Environment rendered this template right while clients saw lines run on.
    hit = rules.detect(message)
    assert hit is not None
    texts = JinjaTexts([ROOT / "templates" / "messages"])
    assert texts.render(hit.help_key, hit=hit, in_hours=True, expected="") == expected


def test_a_message_of_several_kinds_raises_them_all(rules: CrisisRules) -> None:
    hit = rules.detect("не хочу больше жить, сын бьёт меня")
    assert hit is not None
    assert hit.rule_id == "suicide_intent"
    assert hit.kinds == (CrisisKind.SUICIDE, CrisisKind.VIOLENCE)


def test_a_single_kind_hit_lists_its_own_kind() -> None:
    hit = CrisisHit("r", CrisisKind.VIOLENCE, "crisis_help", "бьет")
    assert hit.kinds == (CrisisKind.VIOLENCE,)


@pytest.mark.parametrize(
    ("message", "lines"),
    [
        ("не хочу больше жить, сын бьёт меня", ADULT_LINE + CHILD_LINE + WOMEN_LINE),
        # The child's rule comes first; suicide adds only the line not shown yet.
        ("ребёнок один дома третий день, я не хочу жить", CHILD_LINE + ADULT_LINE),
    ],
)
def test_help_lines_of_every_kind_found_each_once(
    rules: CrisisRules, message: str, lines: str
) -> None:
    hit = rules.detect(message)
    assert hit is not None
    texts = JinjaTexts([ROOT / "templates" / "messages"])
    assert texts.render(hit.help_key, hit=hit, in_hours=True, expected="") == FIRST + lines + LAST


OUT_OF_HOURS = "Сейчас нерабочее время. Специалист ответит в рабочее время: в понедельник."


@pytest.mark.parametrize(
    ("message", "lines", "then"),
    [
        ("меня бьёт муж", WOMEN_LINE, "Если помощь нужна раньше, звоните по телефонам выше.\n"),
        ("угрожает ножом", "", "Если помощь нужна раньше, звоните 112.\n"),
    ],
)
def test_out_of_hours_no_promise_help_lines_first_then_when(
    rules: CrisisRules, message: str, lines: str, then: str
) -> None:
    hit = rules.detect(message)
    assert hit is not None
    texts = JinjaTexts([ROOT / "templates" / "messages"])
    text = texts.render(hit.help_key, hit=hit, in_hours=False, expected=OUT_OF_HOURS)
    assert text == FIRST_112 + lines + OUT_OF_HOURS + "\n" + then + LAST


def test_word_filter_skips_no_match_that_a_full_scan_finds(rules: CrisisRules) -> None:
    # The filter only decides which patterns are worth scanning: every fixture message, alarm
    # or not, and the flags, must come out as a scan of every pattern gives them.
    messages = [c["text"] for c in MESSAGES["trigger"] + MESSAGES["quiet"]]
    messages += ["ребёнок один дома третий день", "детей бросила одних", "жить не на что"]
    for text in messages:
        normal = normalize(text)
        scanned = next(
            (r.id for r in rules.rules if r.matcher.first(normal) is not None), None)
        hit = rules.detect(text)
        assert (hit.rule_id if hit else None) == scanned, text
        flags = tuple(f.id for f in rules.flag_rules if f.matcher.first(normal) is not None)
        assert rules.flags(text) == flags, text


def test_word_filter_reads_stems_and_whole_words(tmp_path: Path) -> None:
    text = "rules:\n  - {id: a, kind: violence, patterns: ['избива* сына|дочь']}\n"
    rules = load_crisis_rules(write(tmp_path, text))
    assert rules.detect("муж избивает сына") is not None
    assert rules.detect("муж избивал дочь") is not None
    # "сын" is a whole word of the pattern: "сынишку" does not count, nor a stem in the middle
    assert rules.detect("муж избивает сынишку") is None
    assert rules.detect("муж поизбивал сына") is None
    assert rules.detect("избивает") is None
