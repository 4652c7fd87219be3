"""Home addresses in a client's words: a street with its house and flat, or one they live at."""

from __future__ import annotations

import re

# An address: a street's type and name with the house (and flat) numbers after it — «ул. Ленина,
# д. 5, кв. 12», «ул Мира 1-15», «Сибирский тракт 12», «д. 5 кв. 12» —, or what follows
# «адрес» up to its numbers («мой адрес Екатеринбург Ленина 5-12»). A city alone is no one's.
_NO = r"\d{1,4}(?:\s?[а-яА-Я](?!\w))?"  # 5, 18а, 18 б
_MORE = (r"(?:(?:,?\s*|\s*-\s*)(?:(?:корп(?:ус)?|к|стр(?:оение)?|кв(?:артира)?|комн(?:ата)?)"
         rf"\.?\s*)?{_NO}(?![\d.,]\d))*")  # the building, flat, room numbers after the house
_HOUSE = rf"(?:,?\s*(?:д(?:ом)?\.?\s*)?№?\s*{_NO}(?:/\d{{1,4}})?){_MORE}"
_ANY_WORD = r"[А-ЯЁA-Zа-яёa-z][\w\-]*\.?"
_CAPITAL_WORD = r"[А-ЯЁA-Z][\w\-]*\.?"
# A street's own name as written without its type: «Малышева», «Космонавтов», «8 Марта»; not
# an abbreviation in capitals («ЕДВ»).
_STREET_NAME = r"(?:\d{1,2}\s+)?[А-ЯЁ][а-яё]+(?:-[А-ЯЁа-яё][а-яё]+)?"
_SHORT_TYPE = r"(?i:ул|пр-к?т|просп|пер|б-р|ш|пл|мкрн?|наб|туп)"
_LONG_TYPE = (r"(?i:улиц[аеуы]|проспект\w*|переул\w*|бульвар\w*|шоссе|площад\w*|"
              r"микрорайон\w*|набережн\w*|тракт\w*|проезд\w*|тупик\w*)")
# What a number of years, days or money is counted in: «живу в Екатеринбурге 30 лет».
_NOT_A_HOUSE = (r"(?!\s*(?i:лет|год|раз|дн|день|мес|недел|час|мин|руб|р\.|тыс|%|человек|дет|"
                r"ребён|ребен|штук|шт\.))")
# «перенесите на Вторник 10-12»: a time, not a house and its flat.
_NOT_A_DAY = (r"(?!(?i:понедельник|вторник|сред|четверг|пятниц|суббот|воскресен|январ|феврал|"
              r"март|апрел|ма[йя]|июн|июл|август|сентябр|октябр|ноябр|декабр))")
ADDRESS_PATTERN = re.compile(
    # «ул. ленина 5»: after a short type the name may be in any case; after a long one it is
    # capitalised («проезда на 2026 год» is a fare), but for «улица ленина 5», where a
    # lower-case word must be followed by the house at once («на улице холодно уже 3 дня»).
    rf"(?<![\w-]){_SHORT_TYPE}(?:\.\s*|\s+)(?:\d{{1,2}}[\s-]+)?{_ANY_WORD}(?:\s+{_ANY_WORD})?"
    rf"{_HOUSE}"
    # «пр.» is also «прочее» («и пр. документы 5 штук»): a prospect's name is capitalised.
    rf"|(?<![\w-])(?i:пр)\.\s*{_STREET_NAME}{_HOUSE}"
    rf"|(?<![\w-]){_LONG_TYPE}\s+(?:\d{{1,2}}[\s-]+)?{_CAPITAL_WORD}(?:\s+{_CAPITAL_WORD})?{_HOUSE}"
    rf"|(?<![\w-])(?i:улиц[аеуы])\s+{_ANY_WORD}{_HOUSE}"
    rf"|(?<![\w-]){_ANY_WORD}\s+(?i:улица|тракт|проспект|переулок|бульвар|шоссе|проезд)"
    rf"(?!\w){_HOUSE}"
    r"|(?<![\w-])(?i:д\.|дом)\s*\d{1,4}[а-я]?(?:/\d{1,4})?,?\s*(?i:кв\.?|квартира)\s*\d{1,4}"
    rf"|(?<=(?i:адрес) )[^\n!?;]{{0,60}}?{_NO}{_MORE}"
    rf"|(?<=(?i:адресу |адресу:|адрес: ))\s*[^\n!?;]{{0,60}}?{_NO}{_MORE}",
)
# Where a client says they live, the street needs no type: «Живу Малышева 36-12», «прописана
# Космонавтов 18-45». After a bare «на» only a house with its flat is one («на Вайнера 9-5»):
# «на Госуслугах 5 дней» is not.
LIVES_AT_PATTERN = re.compile(
    r"(?P<cue>(?<![\w-])(?i:живу|живём|живем|проживаю|проживаем|прописан[аы]?|"
    r"зарегистрирован[аы]?)(?:\s*:)?\s+(?i:на\s+)?)"
    rf"{_STREET_NAME}{_HOUSE}{_NOT_A_HOUSE}"
    rf"|(?P<on>(?<![\w-])(?i:на)\s+){_NOT_A_DAY}{_STREET_NAME}\s+{_NO}"
    r"(?:\s*[-/]\s*\d{1,4}|,?\s*(?i:кв\.?|квартира)\s*\d{1,4})(?![\d.,:]\d)"
    rf"{_NOT_A_HOUSE}",
)


def address_key(address: str) -> str:
    """An address as compared with the institution's own: words only, lower case, е for ё."""
    return "@address " + " ".join(re.findall(r"\w+", address.lower().replace("ё", "е")))
