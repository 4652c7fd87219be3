"""A client asking for a person, or saying they are lost, in their own words."""

from __future__ import annotations

import re

from handlers.readings import readings_of

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
