"""Recognition of typed commands, so that clients without buttons can still steer."""

from __future__ import annotations

import functools
import re

from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein

from faq.layout import to_cyrillic
from faq.matcher import QUESTION_WORDS
from faq.smalltalk import detect_smalltalk
from handlers.model import Action, ActionKind

_SPACES = re.compile(r"[\s!.?,;:«»\"'()-]+")

# Typed words that mean a command only when they are the whole message; anything longer is a
# question for the FAQ ("специалист по субсидиям принимает?" must not escalate by itself).
_COMMANDS: dict[str, Action] = {
    "/start": Action(ActionKind.START),
    "start": Action(ActionKind.START),
    "начать": Action(ActionKind.START),
    "старт": Action(ActionKind.START),
    "/menu": Action(ActionKind.MENU),
    "меню": Action(ActionKind.MENU),
    "главное меню": Action(ActionKind.MENU),
    "/help": Action(ActionKind.MENU),
    "помощь": Action(ActionKind.MENU),
    "/specialist": Action(ActionKind.SPECIALIST),
    "специалист": Action(ActionKind.SPECIALIST),
    "оператор": Action(ActionKind.SPECIALIST),
    "живой человек": Action(ActionKind.SPECIALIST),
    "позовите специалиста": Action(ActionKind.SPECIALIST),
    "задать вопрос специалисту": Action(ActionKind.SPECIALIST),
    "/close": Action(ActionKind.CLOSE),
    "/forget": Action(ActionKind.FORGET),
    "удалить мои данные": Action(ActionKind.FORGET),
}


def _key(text: str) -> str:
    """A short message as commands and typed choices are looked up: lower case, ё as е, no
    punctuation, single spaces."""
    return _SPACES.sub(" ", text.lower().replace("ё", "е")).strip()


def parse_command(text: str) -> Action | None:
    """The action a short typed message stands for, if it is a command at all."""
    if len(text) > 40:
        return None
    key = _key(text)
    if key.startswith("/"):
        key = key.split("@", 1)[0].split(" ", 1)[0]  # "/start@bot payload" in groups
    return _COMMANDS.get(key)


# Asking for a person inside a longer message ("хочу поговорить с живым человеком про
# субсидию") is honoured: the client said what they want, a FAQ answer would be a guess.
_PERSON = r"(человек|оператор|специалист|сотрудник|консультант)"
# Asked for: "позовите оператора", "к специалисту" ("человека" is left out: "доход на человека").
_WANTED = r"(оператор\w*|(специалист|сотрудник|консультант)(а|у|ам)?)\b"
_TALK = r"(поговорить|связаться|пообщаться|переговорить|побеседовать)"
_HUMAN = re.compile(
    r"жив(ой|ым|ого|ому)\s+" + _PERSON
    + r"|(позов|соедин|свяж|переключ)\w*\s+(\w+\s+)?(с\s+|со\s+|на\s+)?" + _PERSON
    + r"|\b(переведите|передайте)\s+(\w+\s+){0,2}?(на\s+)?" + _WANTED
    # "дайте оператора", not "дайте телефон специалиста" (that is a question for the FAQ).
    + r"|\b(дайте|давайте|зовите)\s+(мне\s+|нам\s+)?" + _WANTED
    + r"|" + _TALK + r"\s+(\w+\s+)?(с|со)\s+(живым\s+)?" + _PERSON
    # "можно с человеком поговорить": the person first.
    + r"|\b(с|со)\s+(живым\s+)?" + _PERSON + r"\w*\s+(\w+\s+)?" + _TALK
    # "хочу специалиста", "нужен живой человек", "можно оператора?",
    # "нужна консультация специалиста" ("нужен ли специалист для…" asks about one, it does
    # not ask for one; "хочу записаться к специалисту" is a question about appointments).
    + r"|\b(хочу|нужен|нужна)\s+(?!ли\b)(\w+\s+)?(живого\s+|живой\s+)?" + _PERSON
    + r"(а|ом)?\b"
    # "хочу к специалисту", not "нужна человеку" ("какая помощь нужна человеку после инсульта").
    + r"|\b(хочу|можно)\s+(мне\s+|нам\s+)?к\s+(живому\s+)?" + _WANTED
    + r"|\bможно\s+(мне\s+|нам\s+)?(живого\s+)?(оператор|специалист|сотрудник|консультант)а\b"
    # «можно человека?» alone (not «можно человека прописать…»)
    + r"|^\W*можно\s+(мне\s+|нам\s+)?(живого\s+)?человека\W*$"
    + r"|\bнужна\s+(\w+\s+)?консультация\s+(со\s+)?специалист"
    # «можно с кем-нибудь поговорить?», «хочу поговорить с кем-то»
    + r"|" + _TALK + r"\s+(с|со)\s+кем\W?(нибудь|то)\b"
    + r"|\b(с|со)\s+кем\W?(нибудь|то)\s+" + _TALK
    # "человека дайте", "специалиста позовите пожалуйста": the whole message, the verb last
    # ("специалиста дайте телефон" asks for a number).
    + r"|^\W*((ну|а|мне|нам|срочно|пожалуйста)\W+){0,2}(живого\s+)?"
    + r"(человек|оператор|специалист|сотрудник|консультант)а"
    + r"\s+(мне\s+|нам\s+)?(дайте|позовите|давайте)(\W+пожалуйста)?\W*$"
    # A call back is a person's: «перезвоните мне», «позвоните мне по номеру …», «свяжитесь
    # со мной», «можете мне перезвонить?», «жду вашего звонка».
    + r"|\bперезвоните\b|\bпозвоните\s+(\w+\s+)?(мне|нам)\b"
    + r"|\bсвяжитесь\s+(\w+\s+)?(со\s+мной|с\s+нами)\b"
    + r"|\b(прошу|можете|могли\s+бы)\s+(\w+\s+){0,2}?(перезвонить|(позвонить|связаться)\s+"
    + r"(мне|со\s+мной))\b"
    + r"|\bжду\s+(вашего\s+)?звонка\b",
)
# The word alone asks for a person only in a short message of calling words around it:
# "оператор!", "можно специалиста?", "к специалисту по субсидиям, пожалуйста"; other words make
# it a topic ("курсы оператора 1С", "жалоба на специалиста", "телефон оператора").
_CALL = r"(к|мне|нам|бы|можно|а|ну|алло|где|хочу|дайте|позовите|пожалуйста|срочно|нужен|надо)"
_OPERATOR_ALONE = re.compile(
    r"^\W*(" + _CALL + r"\W+){0,2}" + _WANTED
    + r"(\W+по\W+\w+)?(\W+" + _CALL + r"){0,2}\W*$"
)
# A message that opens by calling a person, then says why or gives their details: "Оператор!
# Мой СНИЛС …", "специалист, мне нужна помощь с субсидией" (not "Специалист, который…",
# "Оператор — это кто?").
_CALLED = re.compile(
    r"^\W*(оператор|специалист|консультант|живой\s+человек)\s*[,!:—–-]"
    r"(?!\s*((\w+\s+)?котор|это\b))"
)


# "ничего не понятно" alone: the client is lost, and one more answer of the bot will not help.
_LOST = re.compile(
    r"^\W*((ничего|вообще|совсем|я|мне|все|ну)\W+){0,2}"
    r"(не\s*понятно|не\s*понимаю|не\s*понял[аи]?|не\s*разобрал(ся|ась))"
    r"(\W+(ничего|что\s+делать|как\s+быть|помогите))?\W*$"
)


def says_lost(text: str) -> bool:
    """«не понял», «ничего не понятно»: the client did not follow what the bot said."""
    if len(text) > 80:
        return False  # a few words alone: the longer messages of the hot path are not read
    return any(_LOST.match(_GREETING.sub("", reading)) for reading in readings_of(text))


# Written as heard, unstressed vowels swap: «хачу с челавекам пагаварить», «пазовите
# аператора», «можна спицыалиста». Folded alike, these words read as the ones asked for.
_FOLD = str.maketrans("оеёэяы", "аиииии")
_HEARD_WORDS = (
    "хочу", "можно", "нужен", "нужна", "человек", "человека", "человеком", "человеку",
    "поговорить",
    "пообщаться", "связаться", "позовите", "позови", "соедините", "переключите", "оператор",
    "оператора", "оператором", "оператору", "специалист", "специалиста", "специалистом",
    "специалисту", "сотрудник", "сотрудника", "сотрудником", "сотруднику", "консультант",
    "консультанта", "консультантом", "консультация", "консультации", "консультацию",
    "живой", "живым", "живого", "живому", "удалите",
    "удалить", "забудьте", "данные",
)
_HEARD = {word.translate(_FOLD): word for word in _HEARD_WORDS} | {"хачю": "хочу"}
# A letter dropped, doubled, swapped or mistyped in a long person word: «нужен спецалист»,
# «позовите оператра». One edit, from 7 letters on: shorter words have near neighbours. A word
# that begins with the stem itself is one of its own forms («операторы», «специалистов»), and
# two real words are one edit away from a person word («сотрудница», «человечка»): all of
# these are left as they are (on the 2,555 evaluation messages the rule respells none).
_PERSON_STEMS = tuple(stem.translate(_FOLD) for stem in (
    "человек", "оператор", "специалист", "сотрудник", "консультант"))
_NOT_SLIPS = _PERSON_STEMS + tuple(stem.translate(_FOLD) for stem in ("сотрудниц", "человеч"))
_PERSON_HEARD = [folded for folded in _HEARD if folded.startswith(_PERSON_STEMS)]
_SLIP_FROM = 7
# Latin letters that look Cyrillic, inside a Cyrillic word: «челoвеком» with a Latin «o».
_LOOKALIKES = str.maketrans("aceopxyk", "асеорхук")
_CYRILLIC = re.compile(r"[а-я]")


# Per word: a long word's one-edit search among the person words is most of what the person
# and erasure checks cost (34 of 78 us per message on the Telegram bench's messages), and
# clients use the same words again and again.
@functools.lru_cache(maxsize=20_000)
def _heard_as(word: str) -> str:
    """The word asked for that a word spelt as heard or slipped stands for, or the word."""
    if _CYRILLIC.search(word):
        word = word.translate(_LOOKALIKES)
    folded = word.translate(_FOLD)
    if folded in _HEARD:
        return _HEARD[folded]
    if len(word) >= _SLIP_FROM and not folded.startswith(_NOT_SLIPS):
        found = process.extractOne(folded, _PERSON_HEARD, scorer=DamerauLevenshtein.distance,
                                   score_cutoff=1)
        if found is not None:
            return _HEARD[found[0]]
    return word


def _respelled(lowered: str) -> str:
    return re.sub(r"\w{4,}", lambda m: _heard_as(m.group(0)), lowered)


# Not cached per text: a cache would keep the last clients' messages (a СНИЛС, a phone) in
# memory after they are handled, and erased; the per-word cache of _heard_as holds single
# words only. The reception reads a message once for both its erasure and person checks.
def readings_of(text: str) -> tuple[str, ...]:
    """The text, its words spelt as heard respelt («хачу с челавекам пагаварить»), and for a
    message typed with the Latin layout on, its Cyrillic reading: «[jxe gjujdjhbnm c
    xtkjdtrjv» asks for a person as «хочу поговорить с человеком» does."""
    lowered = text.lower().replace("ё", "е")
    if any("а" <= c <= "я" for c in lowered) or not any("a" <= c <= "z" for c in lowered):
        respelled = _respelled(lowered)
        return (lowered,) if respelled == lowered else (lowered, respelled)
    return (lowered, to_cyrillic(lowered))


# The words of asking for a person: what is left names the topic («по инвалидности»).
_ASKING = re.compile(
    r"\b(жив\w*|человек\w*|оператор\w*|специалист\w*|сотрудник\w*|консультант\w*|"
    r"консультаци\w*|хочу|хотел\w*|нужен|нужна|нужно|позов\w*|соедин\w*|свяж\w*|"
    r"переключ\w*|переведите|передайте|дайте|давайте|зовите|поговорить|связаться|"
    r"пообщаться|переговорить|побеседовать|можно|мне|нам|меня|пожалуйста|срочно|"
    r"вопрос\w*|насчет|ну|а|алло|кем|кто|нибудь|то)\b")


def topic_of_request(text: str) -> str:
    """A request for a person without its asking words: «мне нужен специалист по инвалидности»
    leaves «инвалидности»; «хочу поговорить с человеком» leaves nothing."""
    # Read as the request was understood: respelt, or converted from the Latin layout.
    reading = readings_of(text)[-1]
    rest = " ".join(_ASKING.sub(" ", reading).split()).strip(" ,.:;!—–-")
    return rest if any(len(word) >= 4 for word in re.findall(r"\w+", rest)) else ""


# A greeting before the request: «Здравствуйте. Оператор, мне нужна помощь» calls a person as
# «Оператор, мне нужна помощь» does (elderly clients nearly always greet first).
_GREETING = re.compile(
    r"^\W*(здравствуйте|здрасьте|добрый\s+(день|вечер)|доброе\s+утро|"
    r"доброго\s+(дня|времени\s+суток)|привет\w*|алло)\b\W*")


def wants_human(text: str, readings: tuple[str, ...] | None = None) -> bool:
    """`readings`: readings_of(text), when the caller has them already."""
    return any(
        _HUMAN.search(lowered) or _OPERATOR_ALONE.match(lowered) or _CALLED.match(lowered)
        or _LOST.match(lowered)
        for reading in readings or readings_of(text)
        for lowered in dict.fromkeys((reading, _GREETING.sub("", reading)))
    )


# Erasure asked in the client's own words (152-ФЗ ст. 9, 21): "удалите мои данные", "забудьте
# меня", "отзываю согласие". It only opens the confirmation, so a rare false hit costs one
# question; questions about other systems ("…с Госуслуг") are left to the FAQ.
_ERASE = re.compile(
    r"\b(уд[ао]л|стер|сотр|уничтож)\w*\s+(\w+\s+){0,2}?(мои|мою|мое|моих|обо\s+мне|меня)\s+"
    r"(\w+\s+)?(данн|персональн|информац|переписк|сообщения|сообщений|истори)"
    r"|\b(уд[ао]л|сотр)\w*\s+меня\s+из\s+(базы|системы|списк)"
    # Spelt as heard: «удолите», «забутьте».
    r"|\bзабу[дт]\w*\s+(меня|обо\s+мне|мои\s+данн)"
    r"|\b(отзыва|отозва|отзов)\w*\s+(\w+\s+)?согласи"
)
_ELSEWHERE = re.compile(r"госуслуг|банк|сайт[аеу]?\b|соцсет|вконтакт|телеграм|приложени")


def wants_erasure(text: str, readings: tuple[str, ...] | None = None) -> bool:
    """`readings`: readings_of(text), when the caller has them already."""
    return any(_ERASE.search(key) and not _ELSEWHERE.search(key)
               for key in map(_key, readings or readings_of(text)))


# A client who types the number of an offered option instead of pressing its button ("2",
# "2.", "№ 2"), or says yes to a single "did you mean…?".
_NUMBER = re.compile(r"^(?:№|номер|вариант)?\s*([1-9])$")
_ORDINALS = {"первый": 1, "первое": 1, "первая": 1, "второй": 2, "второе": 2, "вторая": 2,
             "третий": 3, "третье": 3, "третья": 3,
             "один": 1, "одна": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5,
             # School marks: «пятёрка», «на пятёрку», «четвёрка».
             "единица": 1, "единицу": 1, "двойка": 2, "двойку": 2, "тройка": 3, "тройку": 3,
             "четверка": 4, "четверку": 4, "пятерка": 5, "пятерку": 5}
_YES = frozenset(("да", "ага", "угу", "верно", "точно", "именно", "да да", "да верно", "yes",
                  "согласен", "согласна", "согласны", "согласен на", "да согласен",
                  "да согласна", "я согласен", "я согласна", "согласие", "даю согласие"))
_NONE = frozenset(("нет", "не то", "не это", "нет не то", "ничего не подходит", "не подходит",
                   "не согласен", "не согласна", "нет не согласна", "нет не согласен",
                   "нет передумал", "нет передумала", "передумал", "передумала",
                   "ни один не подходит", "ничего из этого", "другое", "другой вопрос"))
YES = 0
NONE_OF_THESE = -1
# Agreeing in words to the processing of personal data, whatever the bot said last (a plain
# «да» agrees only to a question just asked).
_CONSENTS = frozenset({key for key in _YES if "соглас" in key} | {
    "хорошо согласна", "хорошо согласен", "ок согласна", "ок согласен", "согласна я",
    "согласен я", "я даю согласие", "даю свое согласие", "согласна на обработку",
    "согласен на обработку", "согласна на обработку данных", "согласен на обработку данных",
    "согласна на обработку персональных данных", "согласен на обработку персональных данных"})


# «согласна, но у меня ещё вопрос про пенсию»: agreement first, then more (not «я согласна на
# соцконтракт», which agrees to something else).
_CONSENT_OPENING = re.compile(
    r"^\W*((да|хорошо|ладно|ок)\W+)?(я\W+)?(согласн[аы]?|согласен|даю\s+согласие)"
    r"(\s*[,.!;:—–-]|\s+(но|а|и|только)\b)")


# «да, передайте», «хорошо», «давайте» to the no-match reply's «Могу передать его
# специалисту»: every word agrees or says what to pass on, one at least agrees.
_AGREEING = frozenset(("да", "ага", "угу", "хорошо", "ладно", "давайте", "давай", "конечно",
                       "ок", "окей", "можно", "передайте", "передай", "передавайте",
                       "перешлите", "отправьте", "направьте", "нужно", "надо", "согласен",
                       "согласна", "yes"))
_AGREEING_WITH = frozenset(("ну", "пожалуйста", "специалисту", "специалистам", "ему", "им",
                            "его", "вопрос", "мой", "свой", "спасибо", "будьте", "добры",
                            "пусть", "ответит", "так", "и", "уж", "тогда"))


def agrees_to_hand_over(text: str) -> bool:
    """A short yes to "shall I pass your question on?"."""
    words = _key(text).split() if len(text) <= 60 else []
    return any(w in _AGREEING for w in words) \
        and all(w in _AGREEING or w in _AGREEING_WITH for w in words)


def typed_consent(text: str) -> bool:
    return len(text) <= 60 and _key(text) in _CONSENTS


def opens_with_consent(text: str) -> bool:
    return typed_consent(text) or bool(_CONSENT_OPENING.match(text.lower().replace("ё", "е")))


def typed_choice(text: str) -> int | None:
    """The option number a short message names (1-9), YES for a plain yes, NONE_OF_THESE for
    "нет" or "ничего не подходит", else None."""
    if len(text) > 20:
        return None
    key = _key(text)
    if key in _YES:
        return YES
    if key in _NONE:
        return NONE_OF_THESE
    if key in _ORDINALS:
        return _ORDINALS[key]
    found = _NUMBER.match(key)
    return int(found.group(1)) if found else None


# A rating with thanks around it, typed after "rate us 1 to 5": «5 спасибо вам большое дочка»,
# «пять, спасибо», «ставлю 5 баллов», «Отлично, пять с плюсом!». Anything else beside the number
# («5 лет ребенку…») is a question, not a rating.
_RATING_WORDS = re.compile(
    r"\b(из 5|из пяти|баллов|балла|балл|звезд\w*|оценка|оцениваю|ставлю|ставим|на|"
    r"с плюсом|с минусом)\b")
_RATING_NUMBER = re.compile(
    r"\b([1-5]|один|одна|два|две|три|четыре|пять|единиц[ау]|двойк[аиу]|тройк[аиу]|"
    r"четверк[аиу]|пятерк[аиу])\b")
# The prompt itself says «1 (плохо) … 5 (отлично)»: those words are its ends, alone or with
# thanks and a few words of degree («всё отлично, спасибо», «очень плохо»).
_RATING_ENDS = {"отлично": 5, "плохо": 1}
_DEGREE = frozenset(("все", "было", "очень", "просто", "ну", "вообще"))


def _rating_end(key: str) -> int | None:
    words = key.split()
    ends = [w for w in words if w in _RATING_ENDS]
    if len(ends) != 1:
        return None
    rest = " ".join(w for w in words if w not in _RATING_ENDS and w not in _DEGREE)
    return _RATING_ENDS[ends[0]] if not rest or detect_smalltalk(rest) is not None else None


def typed_rating(text: str) -> int | None:
    """The 1–5 rating a short message gives, when the rest of it is thanks or a greeting."""
    if len(text) > 100:
        return None
    typed = _key(text)
    if (end := _rating_end(typed)) is not None:
        return end
    key = _RATING_WORDS.sub(" ", typed.replace("+", " "))
    numbers = _RATING_NUMBER.findall(key)
    others = _RATING_NUMBER.sub(" ", key)
    if len(numbers) != 1 or re.search(r"\d", others):
        return None
    rest = " ".join(others.split())
    if rest and detect_smalltalk(rest) is None:
        return None
    word = numbers[0]
    return int(word) if word.isdigit() else _ORDINALS[word]


# Forms of the matcher's question words that a question opens with too.
_OPENERS = QUESTION_WORDS | {"что", "какая", "какое", "какие", "каких", "каком", "сколько"}


def looks_like_question(text: str) -> bool:
    """«Как оформить наследство на дачу?» rather than «Вот мои документы»: it ends with a
    question mark or opens with a question word."""
    words = re.findall(r"[а-яё]+", text.lower()[:40])
    return text.rstrip().endswith("?") or (bool(words) and words[0] in _OPENERS)
