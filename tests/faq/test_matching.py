from __future__ import annotations

import pytest

from faq.layout import fix_latin_words, fix_layout, to_cyrillic, to_latin
from faq.matcher import Matcher, MatcherConfig, build_matcher, decide
from faq.model import Candidate, Category, Decision, Entry, KnowledgeBase, SmallTalk
from faq.morph import default_lemmatizer
from faq.normalize import normalize, tokenize
from faq.smalltalk import detect_smalltalk


def _answer(matcher: Matcher, text: str) -> str | None:
    result = matcher.match(text)
    return result.best.entry_id if result.decision is Decision.ANSWER and result.best else None


def test_lemmas_ignore_the_reflexive_voice() -> None:
    lemma = default_lemmatizer().lemma
    assert lemma("запишите") == lemma("записаться") == "записать"
    assert lemma("получите") == "получить"


def test_normalisation_of_case_yo_punctuation_emoji_and_repeats() -> None:
    assert tokenize("ЁЛКИ!!! Пожааалуйста 🙏, кресло-коляска…") == [
        "елки",
        "пожалуйста",
        "кресло",
        "коляска",
    ]
    assert normalize("Ванна") == "ванна"


def test_layout_conversion_both_ways() -> None:
    assert to_cyrillic("gjcj,bt") == "пособие"
    assert to_latin("пособие") == "gjcj,bt"
    known = default_lemmatizer().is_known
    assert fix_layout("ult yf[jlbncz wtynh?", known) == "где находится центр?"
    assert fix_layout("пособие на vk", known) == "пособие на vk"
    latin = {"email"}.__contains__
    assert fix_latin_words("пишите на уьфшд", known, latin) == "пишите на email"
    assert fix_latin_words("мама", known, lambda word: True) == "мама"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ult yf[jlbncz wtynh", "center.address"),  # wrong layout
        ("rfr gjkexbnm bydfkblye. rjkzcre", "equipment.wheelchair"),  # wrong layout, typo
        ("лгопед после инсульта", "rehab.speech-therapist"),  # typo
        ("слуховые аппараты бесплатно получить", "equipment.hearing-aid"),  # morphology
        ("ТСР купила сама, вернут деньги?", "equipment.compensation"),  # abbreviation
        ("ЗДРАВСТВУЙТЕ! какой телефон регистратуры", "center.phone"),  # greeting + question
    ],
)
def test_answers_despite_noise(matcher: Matcher, text: str, expected: str) -> None:
    assert _answer(matcher, text) == expected


def test_a_spelled_out_abbreviation_finds_its_entry(matcher: Matcher) -> None:
    # The entry says "ТСР"; the message spells it out. The synonym dictionary puts the entry
    # first. Whether that is answered or asked about is the confidence model's call (the n-gram
    # ranker, which reads letters, prefers another entry; the word vectors agree with the
    # lemmas): either way the right entry leads, and the client is never told "no match".
    result = matcher.match("компенсация за технические средства реабилитации")
    assert result.decision in (Decision.ANSWER, Decision.CLARIFY)
    assert [c.entry_id for c in result.candidates][:1] == ["equipment.compensation"]


def test_long_story_with_a_buried_question(matcher: Matcher) -> None:
    story = (
        "Добрый день. У мамы был инсульт полгода назад, она плохо говорит, мы живём далеко, "
        "ездить тяжело, врач сказал, что нужны занятия. Принимает ли у вас логопед?"
    )
    result = matcher.match(story)
    assert result.best is not None and result.best.entry_id == "rehab.speech-therapist"
    assert result.decision in (Decision.ANSWER, Decision.CLARIFY)


def test_exact_match_answers_before_the_margin_rule(matcher: Matcher) -> None:
    result = matcher.match("Есть ли парковка для инвалидов у центра?")
    assert result.decision is Decision.ANSWER
    assert [c.entry_id for c in result.candidates[:2]] == ["center.parking", "center.parking-copy"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Здравствуйте!", SmallTalk.GREETING),
        ("спасибо", SmallTalk.THANKS),
        ("Спасибо большое, до свидания", SmallTalk.THANKS),
        ("до свидания", SmallTalk.GOODBYE),
        ("добрый день, у меня вопрос", SmallTalk.GREETING),
        ("спасибо за ответ, всё понятно", SmallTalk.THANKS),
        ("ghbdtn", SmallTalk.GREETING),  # "привет" on the wrong layout
        ("С днём рождения тебя, дорогая!", SmallTalk.CONGRATULATION),
        ("Здравствуйте! С наступающим Новым годом!", SmallTalk.CONGRATULATION),
        ("Здравствуйте, я снова тут", SmallTalk.GREETING),
        ("ок спасибо большое вы очень помогли", SmallTalk.THANKS),
        ("Добрый день, я опять к вам", SmallTalk.GREETING),
        ("спасибо и с праздником вас", SmallTalk.THANKS),
        ("пасиб", SmallTalk.THANKS),
        ("благодарю вас от всей души", SmallTalk.THANKS),
        ("Огромное спасибо вам!", SmallTalk.THANKS),
        ("огромное вам спасибо от всего сердца", SmallTalk.THANKS),
        ("здрасьте", SmallTalk.GREETING),
        ("Понятно", SmallTalk.ACKNOWLEDGEMENT),
        ("а вы кто робот или человек", SmallTalk.IDENTITY),
        ("Это робот?", SmallTalk.IDENTITY),
        ("вы живой человек?", SmallTalk.IDENTITY),
        ("Спасибо, а вы робот?", SmallTalk.IDENTITY),
        ("ок, хорошо", SmallTalk.ACKNOWLEDGEMENT),
        ("ага спасибо", SmallTalk.THANKS),  # thanks win over "ok"
        ("ясно, до свидания", SmallTalk.GOODBYE),
        # Emoji alone, as elderly clients often answer on a phone.
        ("👍", SmallTalk.ACKNOWLEDGEMENT),
        ("😀😀", SmallTalk.ACKNOWLEDGEMENT),
        ("🙏🏻🙏🏻", SmallTalk.THANKS),
        ("👋", SmallTalk.GREETING),
        ("👍❤️", SmallTalk.THANKS),
    ],
)
def test_smalltalk_alone(matcher: Matcher, text: str, kind: SmallTalk) -> None:
    result = matcher.match(text)
    assert (result.decision, result.smalltalk) == (Decision.SMALLTALK, kind)


@pytest.mark.parametrize(
    "text", ["какая погода завтра", "посоветуйте рецепт борща с фасолью", "", "😢😢", "!!!",
             "123 456"]
)
def test_off_topic_is_no_match(matcher: Matcher, text: str) -> None:
    assert matcher.match(text).decision is Decision.NO_MATCH


def test_a_wish_with_a_question_is_a_question() -> None:
    assert detect_smalltalk("с днем рождения ребенка какие выплаты положены") is None
    assert detect_smalltalk("хорошо, а как оформить субсидию") is None


def test_question_words_alone_name_no_topic() -> None:
    kb = KnowledgeBase(
        (Category("c", "Курсы"),),
        (Entry("course.length", "c", "Сколько длится курс?", "21 день."),
         Entry("course.place", "c", "Где проходит курс?", "В центре.")),
    )
    matcher = build_matcher(kb)
    assert matcher.match("сколько будет 2+2").decision is Decision.NO_MATCH
    assert matcher.match("где?").decision is Decision.NO_MATCH
    # With a topic word the question word still tells the two entries apart.
    result = matcher.match("сколько длится")
    assert result.best is not None and result.best.entry_id == "course.length"


def test_words_of_time_and_repetition_alone_name_no_topic() -> None:
    kb = KnowledgeBase(
        (Category("h", "Жильё"),),
        (Entry("subsidy.renewal", "h", "Как продлить субсидию?", "Заново подайте заявление.",
               variants=("Надо ли снова собирать документы на субсидию",)),
         Entry("subsidy.debt", "h", "Почему остановили субсидию?", "Из-за долга.")),
    )
    matcher = build_matcher(kb)
    for text in ("снова", "опять тут", "сегодня снова"):
        assert matcher.match(text).decision is Decision.NO_MATCH, text
    # Beside a topic word the same word still counts.
    assert _answer(matcher, "снова собирать документы на субсидию") == "subsidy.renewal"


def test_one_word_answers_only_with_an_entry_about_it() -> None:
    kb = KnowledgeBase(
        (Category("c", "Помощь"),),
        (Entry("crisis.violence", "c", "Куда обратиться, если в семье насилие?", "В центр.",
               variants=("Муж бьёт, что делать", "Сын угрожает и отбирает пенсию")),
         Entry("pension.size", "c", "Какой размер пенсии по старости?", "В СФР.",
               variants=("Сколько платят пенсионерам",)),
         Entry("taxi.order", "c", "Как вызвать социальное такси?", "По телефону.")),
    )
    matcher = build_matcher(kb)
    assert _answer(matcher, "насилие") == "crisis.violence"  # the word of its question
    assert _answer(matcher, "такси") == "taxi.order"
    # A word in the questions of two entries is a choice between them.
    taxi = Entry("taxi.price", "c", "Сколько стоит социальное такси?", "50 рублей.")
    ambiguous = build_matcher(KnowledgeBase(kb.categories, (*kb.entries, taxi))).match("такси")
    assert ambiguous.decision is Decision.CLARIFY
    assert {c.entry_id for c in ambiguous.candidates[:2]} == {"taxi.order", "taxi.price"}
    without = KnowledgeBase(kb.categories, (kb.entries[0], kb.entries[2]))
    # Only a variant of the violence entry says "пенсию": asked alone, that is no topic of it.
    result = build_matcher(without).match("пенсия")
    assert result.decision is Decision.NO_MATCH  # and no entry is about it: nothing to offer


def test_one_word_answers_with_an_entry_whose_phrasing_is_mostly_that_word() -> None:
    kb = KnowledgeBase(
        (Category("c", "О центре"),),
        (Entry("centre.wifi", "c", "Есть ли в центре бесплатный интернет для посетителей?",
               "Да.", variants=("вайфай в центре",)),
         Entry("centre.hours", "c", "Часы работы центра", "9–18.",
               variants=("когда работает центр",)),
         Entry("crisis.violence", "c", "Куда обратиться при насилии в семье?", "112.",
               variants=("Сын угрожает и отбирает пенсию",))),
    )
    matcher = build_matcher(kb)
    # "вайфай в центре": the centre is in every entry, the variant is about wi-fi.
    assert _answer(matcher, "у вас есть вайфай") == "centre.wifi"
    assert _answer(matcher, "вайфай") == "centre.wifi"
    assert matcher.match("пенсия").decision is Decision.NO_MATCH


def test_ambiguous_question_clarifies_with_two_or_three_options(matcher: Matcher) -> None:
    result = matcher.match("ходунки")
    assert result.decision is Decision.CLARIFY
    assert {c.entry_id for c in result.candidates} == {
        "equipment.rental",
        "equipment.compensation",
    }


def test_decision_rules_on_given_scores() -> None:
    config = MatcherConfig(answer_threshold=0.6, margin=0.1, clarify_threshold=0.3)
    close = [Candidate("a", 0.7), Candidate("b", 0.65), Candidate("c", 0.6), Candidate("d", 0.1)]
    assert decide(close, config).decision is Decision.CLARIFY
    assert [c.entry_id for c in decide(close, config).candidates] == ["a", "b", "c"]
    clear = [Candidate("a", 0.9), Candidate("b", 0.5)]
    assert decide(clear, config).decision is Decision.ANSWER
    assert decide([Candidate("a", 0.2)], config).decision is Decision.NO_MATCH


def test_institution_synonyms_extend_the_shipped_ones(rehab_kb, tmp_path) -> None:
    extra = tmp_path / "syn.yaml"
    extra.write_text("groups:\n  - [логопед, дефектолог]\n", encoding="utf-8")
    plain = build_matcher(rehab_kb).match("дефектолог для взрослых")
    extended = build_matcher(rehab_kb, synonym_files=[extra]).match("дефектолог для взрослых")
    assert extended.best is not None and extended.best.entry_id == "rehab.speech-therapist"
    assert plain.best is None or extended.best.score > plain.best.score + 0.1


def _office_kb() -> KnowledgeBase:
    return KnowledgeBase(
        (Category("c", "Разное"),),
        (
            Entry("office.address", "c", "Какой адрес центра?", "ул. Примерная, д. 1."),
            Entry("office.hours", "c", "Какой график работы центра?", "С 9 до 18."),
            Entry("exam.wait", "c", "Через сколько времени вызовут на комиссию?",
                  "В течение месяца."),
            Entry("exam.place", "c", "В каком кабинете проходит комиссия?", "В 101."),
        ),
    )


def test_spoken_spellings_are_read_as_the_usual_word() -> None:
    matcher = build_matcher(_office_kb())
    # "скока" alone is no word of the KB: read as "сколько", the message finds its entry.
    assert "сколько" in matcher.parse("через скока вызовут на комиссию").weights
    ranked = matcher.rank(matcher.parse("через скока вызовут на комиссию"))
    assert ranked and ranked[0].entry_id == "exam.wait"
    # A spelling of two words ("незнаю") gives both.
    assert matcher.parse("незнаю куда идти").weights.keys() >= {"знать", "идти"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ГДЕ ВЫ НАХОДИТЕСЬ", "office.address"),  # the group has "где находитесь"
        ("а во сколько работаете", "office.hours"),  # the group has "во сколько вы работаете"
    ],
)
def test_group_phrases_allow_pronouns_and_particles(text: str, expected: str) -> None:
    matcher = build_matcher(_office_kb())
    query = matcher.parse(text)
    assert {"~адрес", "~режим_работы"} & query.weights.keys()
    ranked = matcher.rank(query)
    assert ranked and ranked[0].entry_id == expected


def test_a_phrase_without_its_fillers_needs_two_words() -> None:
    from faq.synonyms import build_synonyms, parse_synonyms

    lemma = default_lemmatizer()
    synonyms = build_synonyms(
        parse_synonyms("fillers: [мои]\ngroups:\n  - [мфц, мои документы]\n"), lemma
    )
    # "мои документы" is МФЦ, but "документы" alone is not.
    assert synonyms.concepts([lemma.lemma(w) for w in ("мои", "документы")]) == ["~мфц"]
    assert synonyms.concepts([lemma.lemma("документы")]) == []


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("group: []", "unknown key"),
        ("spellings: [скока]", "'spellings' must map"),
        ("spellings: {скока сколько: сколько}", "'spellings' must map"),
        ("fillers: [как бы]", "'fillers' must be a list of single words"),
        ("groups: [[жку, коммуналка]]\ngroups: [[мфц]]", r"duplicate key 'groups' \(line 2\)"),
    ],
)
def test_bad_synonym_files_are_refused_with_the_reason(text: str, error: str) -> None:
    from faq.synonyms import parse_synonyms

    with pytest.raises(ValueError, match=error):
        parse_synonyms(text)


def test_empty_and_single_entry_knowledge_bases() -> None:
    empty = build_matcher(KnowledgeBase((), ()))
    assert empty.match("как получить справку").decision is Decision.NO_MATCH
    single = build_matcher(
        KnowledgeBase((Category("c", "C"),), (Entry("a", "c", "Как получить справку?", "Так."),))
    )
    result = single.match("справка")
    assert (result.decision, result.best.entry_id) == (Decision.ANSWER, "a")
    assert single.match("погода").decision is Decision.NO_MATCH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Colloquial words of clients that a knowledge base written by staff never uses.
        ("как встать на биржу", "work.registration"),
        ("как получить декретные", "family.maternity"),
        ("сколько платят по уходу за мамой", "care.amount"),
    ],
)
def test_shipped_dictionary_reads_clients_words(text: str, expected: str) -> None:
    kb = KnowledgeBase(
        categories=(Category("c", "Разное"),),
        entries=(
            Entry("work.registration", "c", "Как зарегистрироваться в центре занятости?",
                  "Подайте заявление на портале «Работа России»."),
            Entry("family.maternity", "c", "Пособие по беременности и родам",
                  "Назначает Социальный фонд по больничному листу."),
            Entry("care.amount", "c", "Размер компенсации за уход",
                  "Размер зависит от категории."),
            Entry("care.who", "c", "Кто может оформить уход за пожилым человеком",
                  "Неработающий трудоспособный человек."),
            # Shares "как", "встать", "получить" with the messages: without the dictionary
            # it comes first for two of them.
            Entry("trip.queue", "c", "Как встать в очередь на путевку в санаторий",
                  "Подайте заявление, когда получите справку."),
        ),
    )
    matcher = build_matcher(kb)
    ranked = matcher.rank(matcher.parse(text))
    assert ranked and ranked[0].entry_id == expected


@pytest.mark.parametrize(
    "text", ["ходунки", "Принимает ли у вас логопед? Мама после инсульта.", "парковка есть"]
)
def test_unit_share_is_the_best_question_unit_by_idf(matcher: Matcher, text: str) -> None:
    query = matcher.parse(text)
    present, idf, share = query.weights.keys(), matcher.index.idf, matcher.config.query_share
    for doc in range(len(matcher.index.ids)):
        units = zip(matcher.index.units[doc], matcher.index.unit_idf[doc], strict=True)
        best = max((sum(idf[t] for t in u & present) / w for u, w in units if w > 0), default=0)
        expected = min(0.5**share * best ** (1 - share), 1.0)
        assert matcher._score(doc, 0.5, frozenset(present)) == pytest.approx(expected, abs=1e-12)


def test_parse_keeps_words_and_keys_of_each_sentence(matcher: Matcher) -> None:
    query = matcher.parse("Есть парковка? ghbdtn. Спасибо!")
    assert query.words == tuple(tokenize(query.text))
    assert query.keys == ("есть парковка ghbdtn спасибо", "есть парковка", "ghbdtn", "спасибо")
    single = matcher.parse("  Есть ли парковка?  ")
    assert single.keys == ("есть ли парковка",)


def test_a_negated_word_is_not_the_word() -> None:
    kb = KnowledgeBase(
        (Category("d", "Документы"),),
        (Entry("appeal", "d", "Как обжаловать отказ в выплате?", "Подайте жалобу.",
               variants=("Отказали в субсидии, не согласна",), keywords=("не согласен",)),
         Entry("consent", "d", "Зачем нужно согласие на обработку данных?",
               "Без него мы не можем передать вопрос специалисту.")),
    )
    matcher = build_matcher(kb)
    # The client agrees: the entry for those who disagree must not answer.
    for text in ("согласна", "я согласен"):
        assert _answer(matcher, text) != "appeal", text
    assert _answer(matcher, "не согласна с отказом") == "appeal"
    # An answer's own "не" does not make its entry about the negated word.
    assert "не_передать" not in matcher.index.idf


@pytest.mark.parametrize("text", ["гд находица центр", "где находитса центр"])
def test_spoken_spellings_of_where_and_reflexive_verbs(matcher: Matcher, text: str) -> None:
    assert _answer(matcher, text) == "center.address"


@pytest.mark.parametrize(("text", "kind"), [
    ("спасибо дочка", SmallTalk.THANKS),
    ("Спасибо, доченька!", SmallTalk.THANKS),
    ("вы меня слышите?", SmallTalk.PRESENCE),
    ("алло, есть кто нибудь", SmallTalk.PRESENCE),
    ("вы тут?", SmallTalk.PRESENCE),
    ("СПАСИБО ДОЧКА ДАЙ БОГ ЗДОРОВЬЯ", SmallTalk.THANKS),
    ("спасибо большое, ответ получила", SmallTalk.THANKS),
    ("Спасибо 🙏… ответ получила", SmallTalk.THANKS),
    ("спасибо вам огромное", SmallTalk.THANKS),
    ("храни вас господь", SmallTalk.THANKS),
    ("ответ получила", SmallTalk.ACKNOWLEDGEMENT),
])
def test_thanks_with_a_form_of_address_and_checking_someone_is_there(
        text: str, kind: SmallTalk) -> None:
    assert detect_smalltalk(text) is kind


@pytest.mark.parametrize("words", [("не", "ходит"), ("не", "встает"), ("не", "может", "ходить")])
def test_not_walking_reads_as_bedridden(words: tuple[str, ...]) -> None:
    # «мама не ходит» is how clients say what entries write as «лежачая»; «ходит» alone is not.
    from faq.synonyms import build_synonyms, load_synonyms

    lemma = default_lemmatizer()
    synonyms = build_synonyms(load_synonyms(()), lemma)
    bedridden = synonyms.concepts([lemma.lemma("лежачая")])
    assert bedridden and synonyms.concepts([lemma.lemma(w) for w in words]) == bedridden
    assert synonyms.concepts([lemma.lemma("ходит")]) == []
