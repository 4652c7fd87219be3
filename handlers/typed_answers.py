"""Answers typed instead of pressed: an option's number, yes or no, consent, a rating."""

from __future__ import annotations

import re

from faq.smalltalk import detect_smalltalk
from handlers.readings import to_key

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
    words = to_key(text).split() if len(text) <= 60 else []
    return any(w in _AGREEING for w in words) \
        and all(w in _AGREEING or w in _AGREEING_WITH for w in words)


def typed_consent(text: str) -> bool:
    return len(text) <= 60 and to_key(text) in _CONSENTS


def opens_with_consent(text: str) -> bool:
    return typed_consent(text) or bool(_CONSENT_OPENING.match(text.lower().replace("ё", "е")))


def typed_choice(text: str) -> int | None:
    """The option number a short message names (1-9), YES for a plain yes, NONE_OF_THESE for
    "нет" or "ничего не подходит", else None."""
    if len(text) > 20:
        return None
    key = to_key(text)
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
    typed = to_key(text)
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
