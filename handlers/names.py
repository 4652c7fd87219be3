"""People's names (фамилия, имя, отчество) found and masked in what administrators read."""

from __future__ import annotations

import re

from faq.morph import NameWord, name_word, person_lemmas

NAME = "[ФИО]"

# A word (hyphenated surnames too) or an initial ("М." in "Иванова М. П.").
_TOKEN = re.compile(r"[А-ЯЁ]\.|[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)?")
_INITIAL = re.compile(r"^[А-ЯЁ]\.$")
# Parts of one name are separated by spaces (and a comma in "Иванова, Мария"), nothing else.
_GAP = re.compile(r"^[ \u00a0,]{0,2}$")
# After these a single name word is a name: "меня зовут Галина", "фамилия Петров".
_CUES = frozenset(("зовут", "фамилия", "фамилию", "фио", "имя", "отчество", "звать"))
# Right after a greeting or thanks a single capitalised name word is the person addressed:
# «Здравствуйте, Валентина!», «Добрый день, Роман», «Спасибо, Марина!». Elsewhere a lone first
# name is too often a word («Надежда» as a centre's name, «Вера в лучшее»).
_GREETING = re.compile(r"(?:здравствуйте|здравствуй|добрый\s+(?:день|вечер)|доброе\s+утро|"
                       r"доброго\s+(?:дня|утра|вечера)|привет|уважаем(?:ая|ый|ые)|"
                       r"спасибо(?:\s+(?:большое|огромное))?|благодарю|благодарим)"
                       r"[ \u00a0,]*$", re.IGNORECASE)
_GREETING_CHARS = 40
# Before these a name is a street or an institution's patron: "улица Карла Маркса".
_PLACES = frozenset((
    "ул", "улица", "улице", "улицу", "пр", "проспект", "проспекте", "пер", "переулок",
    "переулке", "им", "имени", "пл", "площадь", "площади", "бульвар", "бульваре", "б-р",
    "мкр", "микрорайон", "тракт", "шоссе", "набережная", "город", "г", "село", "деревня",
))


def known_name(name: str) -> frozenset[str]:
    """The dictionary forms of a known person's name words («Валентина Петровна» gives
    «валентина», «петровна»), for mask_names(known=...): their own words only."""
    return frozenset(lemma for word in _TOKEN.findall(name) if not _INITIAL.match(word)
                     for lemma in person_lemmas(_lower(word)))


def mask_names(text: str, lone: bool = False, known: frozenset[str] = frozenset()) -> str:
    """The text with every full or partial name replaced by «[ФИО]».

    A name is two or more adjacent name words ("Мария Петровна", "иванова мария",
    "Иванова М. П."), a patronymic alone, one name word right after "зовут", "фамилия" or
    a greeting ("Здравствуйте, Валентина!"), or a word of the `known` name (known_name: the
    conversation's client) in any form; with `lone`, any single name word ("Иванова"), as in
    a search for a person. Capitalised words count when any dictionary reading is a name;
    lower-case ones only when the likeliest is, so that "вера" and "надежда" in a sentence
    stay words."""
    tokens = list(_TOKEN.finditer(text))
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        j = _run_end(text, tokens, i)
        if j > i and (_is_name(text, tokens, i, j, known)
                      or (lone and _is_lone_name(tokens, i, j))):
            spans.append((tokens[i].start(), tokens[j - 1].end()))
            i = j
        else:
            i += 1
    for start, end in reversed(spans):
        text = f"{text[:start]}{NAME}{text[end:]}"
    return text


def _lower(word: str) -> str:
    return word.lower().replace("ё", "е")


def _strength(token: str) -> NameWord:
    if _INITIAL.match(token):
        return NameWord.MAYBE
    found = name_word(_lower(token))
    if token[:1].isupper() or found is NameWord.PATRONYMIC:
        return found
    return found if found is NameWord.LIKELY else NameWord.NO


def _run_end(text: str, tokens: list[re.Match[str]], i: int) -> int:
    """The end of the run of name words starting at token i (i itself if none)."""
    j = i
    while j < len(tokens) and _strength(tokens[j].group(0)) is not NameWord.NO:
        if j > i and not _GAP.match(text[tokens[j - 1].end():tokens[j].start()]):
            break
        j += 1
    return j


def _is_lone_name(tokens: list[re.Match[str]], i: int, j: int) -> bool:
    before = tokens[i - 1].group(0).lower() if i > 0 else ""
    return before.rstrip(".") not in _PLACES and not _INITIAL.match(tokens[i].group(0))


def _is_name(text: str, tokens: list[re.Match[str]], i: int, j: int,
             known: frozenset[str]) -> bool:
    before = tokens[i - 1].group(0).lower() if i > 0 else ""
    if before.rstrip(".") in _PLACES:
        return False
    words = [t.group(0) for t in tokens[i:j]]
    strengths = [_strength(w) for w in words]
    if all(_INITIAL.match(w) for w in words):
        return False
    if NameWord.PATRONYMIC in strengths:
        return True
    if len(words) >= 2:
        return any(s is NameWord.LIKELY for s in strengths)
    if known & person_lemmas(_lower(words[0])):
        return True
    start = tokens[i].start()
    greeted = _GREETING.search(text[max(0, start - _GREETING_CHARS):start]) is not None
    return before in _CUES or (greeted and words[0][:1].isupper())
