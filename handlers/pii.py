"""Detect and mask personal data (152-ФЗ): in what analytics shows or exports, in logs, and in
what is proposed for the knowledge base."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from stdnum import luhn
from stdnum.ru import inn

from faq.model import KnowledgeBase
from handlers.addresses import ADDRESS_PATTERN, LIVES_AT_PATTERN, address_key
from handlers.names import NAME, mask_names
from handlers.secrets import redact

SNILS = "[СНИЛС]"
PASSPORT = "[паспорт]"
INN = "[ИНН]"
OMS = "[полис ОМС]"
PHONE = "[телефон]"
EMAIL = "[e-mail]"
CARD = "[карта]"
ACCOUNT = "[счёт]"
ADDRESS = "[адрес]"
BIRTH = "[дата рождения]"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A passport written with its words around it: "серия 65 12 № 123456", "паспорт 6512123456".
_PASSPORT = re.compile(
    r"(?P<word>паспорт\w*|серия|серии)(?P<gap>[^\d]{0,25}?)"
    r"(?<!\d)\d{2} ?\d{2}(?:\s*(?:№|N|номер)?\s*)\d{6}(?!\d)",
    re.IGNORECASE,
)
# A date of birth, named as one: «дата рождения 01.02.1950», «родилась 1 февраля 1950 года»,
# «1950 г.р.». Other dates (of an application, a payment) are no one's personal data.
_DATE = (r"(?:\d{1,2}[./-]\d{1,2}[./-](?:19|20)?\d{2}|\d{1,2}\s+(?:январ|феврал|март|апрел|ма[йя]|"
         r"июн|июл|август|сентябр|октябр|ноябр|декабр)\w*\s+(?:19|20)\d{2}|(?:19|20)\d{2})"
         r"(?:\s*(?:г\.|года?)(?!\s*р))?")
_BIRTH = re.compile(
    rf"(?P<cue>рожд\w*|родил\w*|д\.\s?р\.?)(?P<gap>[^\d\n]{{0,12}}?){_DATE}"
    rf"|{_DATE}\s*(?:г\.?\s?р\.?|года? рождения)",
    re.IGNORECASE,
)
# Digits joined by single spaces, dashes or brackets form one number token: "+7 (912) 345-67-89".
_NUMBER = re.compile(r"(?<!\w)(?<!\d[.,])\+?\(?\d(?:[ \-()\u00a0]{0,2}\d)*(?![\w]|[.,]\d)")
# A landline given without the country code: the city's code and the number, 3 + 7 digits, in a
# phone's grouping: «(343) 222-33-44», «343 222-33-44», «343-222-3344»; a passport is written
# «65 12 123456» or «6512 123456», an ИНН in one piece.
_LOCAL_PHONE = re.compile(r"^(?:\(\d{3}\)\s?|\d{3}[ -])\d{3}(?:[ -]?\d{2}[ -]?\d{2}|[ -]?\d{4})$")
# The word that names a number decides its kind where the digits leave it open: «тел 343
# 222-33-44» is a landline, «паспорт 9012345678» no mobile, «заявление № 343-222-33-44» neither.
# The nearest word wins («паспорт 6512 123456, тел 343 222-33-44»); a label already put in
# («[паспорт]») names nothing.
_LABEL_WORDS = re.compile(
    r"(?<![\w\[])(?:(?P<phone>тел(?:ефон\w*)?|моб(?:ильн\w*)?|сот(?:ов\w*)?|домашн\w*|"
    r"(?:пере|по)?звон\w*)|(?P<passport>паспорт\w*|сери[яи])|(?P<snils>снилс)|(?P<inn>инн)"
    r"|(?P<reference>заявлени\w*|обращени\w*|справк\w*|договор\w*|приказ\w*|"
    r"постановлени\w*|квитанци\w*|№))(?!\w)")
_SNILS_SHAPE = re.compile(r"^\d{3}[- ]\d{3}[- ]\d{3}[- ]\d{2}$")
_PRINTED_PASSPORT = re.compile(r"^\d{2} \d{2} \d{6}$")
_CONTEXT_CHARS = 40
_OMS_WORDS = ("полис", "омс")
# Named right before it, a number of the right length is masked even when its check digits
# fail: a client who mistypes one digit of a СНИЛС still gives away the other ten.
_SNILS_WORDS = ("снилс", "страховое свидетельство", "страхового свидетельства")
_INN_WORDS = ("инн",)
_CARD_WORDS = ("карт", "card")
_ACCOUNT_WORDS = ("счет", "счёт", "р/с", "л/с")
_NAMED_CHARS = 25
_PASSPORT_WORDS = ("паспорт", "серия", "серии")
# Numbers at or below 001-001-998 were issued before the check number existed.
_SNILS_UNCHECKED_MAX = 1001998
# Toll-free lines (8-800, 8-804) belong to organisations, not to people: kept readable.
_HELP_LINE_PREFIXES = ("800", "804")


def snils_is_valid(digits: str) -> bool:
    """The Pension Fund's check: weights 9..1 over the first nine digits, modulo 101."""
    if len(digits) != 11 or not digits.isdigit():
        return False
    if int(digits[:9]) <= _SNILS_UNCHECKED_MAX:
        return True
    total = sum(int(d) * w for d, w in zip(digits[:9], range(9, 0, -1), strict=True))
    check = total % 101
    return (0 if check == 100 else check) == int(digits[9:])


def mask(text: str, public: frozenset[str] = frozenset(), names: bool = False,
         known: frozenset[str] = frozenset()) -> str:
    """The text with every detected personal datum replaced by a label such as «[СНИЛС]».

    `public` holds the institution's own phones and e-mails (public_contacts): they are no
    one's personal data and stay readable. `names` masks people's names too (handlers.names:
    a dictionary look-up per word, for what staff read rather than for every log line), and
    with them each word of the `known` name (handlers.names.known_name), alone too."""
    if not text:
        return text
    text = _EMAIL.sub(lambda m: m.group(0) if m.group(0).lower() in public else EMAIL, text)
    text = _BIRTH.sub(lambda m: f"{m['cue']}{m['gap']}{BIRTH}" if m["cue"] else BIRTH, text)
    text = ADDRESS_PATTERN.sub(lambda m: _address(m, public, ""), text)
    text = LIVES_AT_PATTERN.sub(lambda m: _address(m, public, m["cue"] or m["on"]), text)
    text = _PASSPORT.sub(lambda m: f"{m['word']}{m['gap']}{PASSPORT}", text)
    text = _NUMBER.sub(lambda m: _number(m, text, public), text)
    return mask_names(text, known=known) if names else text


def as_kept(text: str, declined: bool) -> str:
    """A client's text as stored and shown to staff: masked, names too, from their refusal of
    consent until they agree, as the bot told them (consent_declined.j2)."""
    return mask(text, names=True) if declined else text


def client_label(name: str, full: bool) -> str:
    """A client's messenger name («Анна Петровна Иванова») is personal data like the texts:
    in full where the texts are, as initials («А. П. И.») elsewhere, enough to tell two
    waiting clients apart."""
    if full:
        return name
    return " ".join(f"{word[0].upper()}." for word in name.split() if word[0].isalpha())


def public_contacts(texts: Iterable[str]) -> frozenset[str]:
    """The phones (their last 10 digits: without the country code), e-mails (lower case) and
    street addresses of texts the institution publishes, such as its knowledge base's answers."""
    found: set[str] = set()
    for text in texts:
        found.update(m.group(0).lower() for m in _EMAIL.finditer(text))
        found.update(_digits(m.group(0))[-10:] for m in _NUMBER.finditer(text)
                     if _classify(m, text) == PHONE)
        found.update(address_key(m.group(0)) for m in ADDRESS_PATTERN.finditer(text))
    return frozenset(found)


def _address(m: re.Match[str], public: frozenset[str], cue: str) -> str:
    return m.group(0) if address_key(m.group(0)[len(cue):]) in public else f"{cue}{ADDRESS}"


# The last knowledge base's contacts: read once per reload, not once per page.
_KB_CONTACTS: list[tuple[KnowledgeBase, frozenset[str]]] = []


def contacts_of(kb: KnowledgeBase) -> frozenset[str]:
    """The phones and e-mails the knowledge base's answers give: the institution's own."""
    if not _KB_CONTACTS or _KB_CONTACTS[0][0] is not kb:
        _KB_CONTACTS[:] = [(kb, public_contacts(e.answer for e in kb.entries))]
    return _KB_CONTACTS[0][1]


def _digits(token: str) -> str:
    return re.sub(r"\D", "", token)


def _number(m: re.Match[str], text: str, public: frozenset[str]) -> str:
    """The number's label, or the number itself: when it is none or the institution's phone
    (a checked СНИЛС may share its digits)."""
    label = _classify(m, text)
    if label is None or (public and _digits(m.group(0))[-10:] in public
                         and label in (PHONE, SNILS, INN, PASSPORT)):
        return m.group(0)
    return label


def personal_data(text: str, names: bool = False) -> list[str]:
    """The labels of the personal data in a text, one per datum, in the order they appear."""
    masked = mask(text, names=names)
    if masked == text:
        return []
    # Labels are bracketed words a client is unlikely to type; those already there are not new.
    found = [label for label in _LABELS for _ in range(masked.count(label) - text.count(label))]
    return sorted(found, key=masked.index)


# Numbers of documents and accounts: a phone, an e-mail or an address a client gives to be
# called back is theirs to give.
_DOCUMENT_LABELS = frozenset((SNILS, PASSPORT, INN, OMS, CARD, ACCOUNT))
# The shortest of them (a passport, an ИНН of an organisation) has ten digits.
_DOCUMENT_DIGITS = 10


def has_document_number(text: str) -> bool:
    """Whether a text holds the number of a document or an account (not a phone or address)."""
    if sum(c.isdigit() for c in text) < _DOCUMENT_DIGITS:
        return False  # the hot path: most messages have no number of that length at all
    return any(label in _DOCUMENT_LABELS for label in personal_data(text))


def mask_labels(text: str) -> list[str]:
    """The masking labels («[СНИЛС]», «[телефон]»…) a text already holds, in order."""
    return sorted((label for label in _LABELS if label in text), key=text.index)


def _classify(m: re.Match[str], text: str) -> str | None:
    token = m.group(0)
    digits = _digits(token)
    before = text[max(0, m.start() - _CONTEXT_CHARS):m.start()].lower()
    named = _labelled(digits, _label(before))
    if named is not None:
        return named
    for rule in _RULES:
        label = rule(token, digits, before)
        if label:
            return label
    return None


def _label(before: str) -> str | None:
    """The kind the nearest naming word gives: phone, passport, snils, inn or reference."""
    found = list(_LABEL_WORDS.finditer(before[-_NAMED_CHARS:]))
    return found[-1].lastgroup if found else None


def _labelled(digits: str, label: str | None) -> str | None:
    """A number of a length its naming word allows, whatever its other shapes."""
    dialled = len(digits) in (7, 10) or (len(digits) == 11 and digits[0] in "78")
    if label == "phone" and dialled:
        return None if digits[-10:-7] in _HELP_LINE_PREFIXES else PHONE
    if label == "passport" and len(digits) == 10:
        return PASSPORT
    if label == "snils" and len(digits) == 11:
        return SNILS
    if label == "inn" and len(digits) in (10, 12):
        return INN
    return None


def _snils(token: str, digits: str, before: str) -> str | None:
    shaped = _SNILS_SHAPE.match(token) is not None or token.isdigit() or "снилс" in before
    return SNILS if len(digits) == 11 and shaped and snils_is_valid(digits) else None


def _phone(token: str, digits: str, before: str) -> str | None:
    if len(digits) == 11 and digits[0] in "78":
        local = digits[1:]
    elif len(digits) == 10 and digits[0] == "9" and (token != digits or not inn.is_valid(digits)):
        local = digits  # "912 345-67-89", "9123456789": a mobile without the country code
    elif _LOCAL_PHONE.match(token) and _label(before) != "reference":
        local = digits
    else:
        return None
    return None if local.startswith(_HELP_LINE_PREFIXES) else PHONE


def _oms(token: str, digits: str, before: str) -> str | None:
    return OMS if len(digits) == 16 and any(w in before for w in _OMS_WORDS) else None


def _card(token: str, digits: str, before: str) -> str | None:
    return CARD if 13 <= len(digits) <= 19 and luhn.is_valid(digits) else None


def _passport(token: str, digits: str, before: str) -> str | None:
    if len(digits) != 10:
        return None
    near = any(w in before for w in _PASSPORT_WORDS)
    return PASSPORT if near or _PRINTED_PASSPORT.match(token) else None


def _inn(token: str, digits: str, before: str) -> str | None:
    return INN if len(digits) in (10, 12) and inn.is_valid(digits) else None


def _named(before: str, words: tuple[str, ...]) -> bool:
    return any(w in before[-_NAMED_CHARS:] for w in words)


def _named_number(token: str, digits: str, before: str) -> str | None:
    """A number its own words name, whatever its check digits (typos leak the rest)."""
    if len(digits) == 11 and (_named(before, _SNILS_WORDS) or _SNILS_SHAPE.match(token)):
        return SNILS
    if len(digits) in (10, 12) and _named(before, _INN_WORDS):
        return INN
    if 13 <= len(digits) <= 19 and _named(before, _CARD_WORDS):
        return CARD
    # A bank account: 20 digits; a person's own ones start with 408 (40817, 40820).
    if len(digits) == 20 and (_named(before, _ACCOUNT_WORDS) or digits.startswith("408")):
        return ACCOUNT
    return None


# Order matters where shapes overlap: a checked СНИЛС wins over a phone of 11 digits, a policy
# named as such over a card, a passport named as such over an ИНН; a number that fails its
# check is masked last by the words before it.
_RULES: tuple[Callable[[str, str, str], str | None], ...] = (
    _snils, _phone, _oms, _card, _passport, _inn, _named_number,
)


_LABELS = (SNILS, PASSPORT, INN, OMS, PHONE, EMAIL, CARD, ACCOUNT, ADDRESS, BIRTH, NAME)


def has_masks(text: str) -> bool:
    """Whether a text holds the labels mask() puts in place of personal data."""
    return any(label in text for label in _LABELS)


class MaskingFilter(logging.Filter):
    """Masks personal data and secrets (handlers.secrets) in every log record's final message
    and traceback; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True  # a broken format string is logging's own error to report
        masked = redact(mask(message))
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # A traceback quotes the exception, and an aiohttp error quotes the URL with the
            # bot's token in it: formatted here once, without secrets, for every handler.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True
