"""Greetings, thanks, goodbyes, wishes and "ok" on their own: answered politely, never as a
no-match."""

from __future__ import annotations

from faq.model import SmallTalk
from faq.normalize import tokenize

_PHRASES: dict[SmallTalk, tuple[str, ...]] = {
    # A question first, whatever thanks or greeting surround it: «спасибо, а вы робот?».
    SmallTalk.IDENTITY: (
        "робот",
        "бот",
        "чат бот",
        "автоответчик",
        "это робот",
        "это бот",
        "это программа",
        "это автоответчик",
        "это человек",
        "это живой человек",
        "вы робот",
        "ты робот",
        "вы бот",
        "ты бот",
        "вы программа",
        "вы человек",
        "ты человек",
        "вы живой",
        "ты живой",
        "вы живой человек",
        "ты живой человек",
        "вы настоящий человек",
        "робот или человек",
        "бот или человек",
        "человек или робот",
        "человек или бот",
        "живой человек или робот",
        "живой человек или бот",
        "вы кто",
        "кто вы",
        "ты кто",
        "кто ты",
        "кто это",
        "кто отвечает",
        "кто мне отвечает",
        "кто со мной говорит",
        "кто со мной переписывается",
        "с кем я говорю",
        "с кем я разговариваю",
        "с кем я переписываюсь",
    ),
    # A plea with no topic, whatever greeting or thanks surround it: «здравствуйте, помогите
    # пожалуйста, заранее спасибо». A topic word («помогите с субсидией») makes it a question.
    SmallTalk.HELP: (
        "помогите",
        "помогите пожалуйста",
        "пожалуйста помогите",
        "помоги",
        "помоги пожалуйста",
        "помогите кто нибудь",
        "нужна помощь",
        "нужна ваша помощь",
        "помощь нужна",
        "нужна помощь пожалуйста",
        "прошу помочь",
        "прошу помощи",
        "прошу о помощи",
        "можете помочь",
        "можно помочь",
        "help",
        "help me",
        "sos",
    ),
    SmallTalk.THANKS: (
        "спасибо",
        "спс",
        "благодарю",
        "благодарим",
        "спасибки",
        "спасибочки",
        "спасибочко",
        "спасиб",
        "пасиб",
        "пасибо",
        "пасибки",
        "сенкс",
        "благодарствую",
        "мерси",
        "thanks",
        "thank you",
        "огромное спасибо",
        "большое спасибо",
        "спасибо большое",
        "спасибо огромное",
        "заранее спасибо",
        "спасибо заранее",
        # «благодарю вас от всей души»
        "от всей души",
        "от души",
        "от всего сердца",
        # Blessings are how many elderly clients thank.
        "дай бог здоровья",
        "дай вам бог здоровья",
        "дай бог вам здоровья",
        "храни вас бог",
        "храни вас господь",
        "храни господь",
        "бог в помощь",
        "спаси господи",
        "спаси бог",
        "спаси христос",
        "спаси вас господи",
        "спаси вас господь",
        "благослови вас господь",
        "благослови вас бог",
        "благослови господь",
        "дай вам бог",
        "дай бог",
    ),
    SmallTalk.CONGRATULATION: (
        "поздравляю",
        "поздравляем",
        "с праздником",
        "с праздниками",
        "с наступающим",
        "с наступающим новым годом",
        "с новым годом",
        "с рождеством",
        "с днем рождения",
        "с днем победы",
        "с 8 марта",
        "с 23 февраля",
        "с международным женским днем",
        "с днем защитника отечества",
        "с днем пожилого человека",
        "с днем социального работника",
        "с днем матери",
        "с юбилеем",
        "с пасхой",
        "христос воскресе",
    ),
    SmallTalk.GOODBYE: (
        "до свидания",
        "досвидания",
        "пока",
        "всего доброго",
        "всего хорошего",
        "до встречи",
        "хорошего дня",
        "удачи",
        "bye",
    ),
    SmallTalk.PRESENCE: (
        "вы меня слышите",
        "меня слышно",
        "вы тут",
        "вы здесь",
        "вы на связи",
        "есть кто",
        "есть кто нибудь",
        "есть кто живой",
        "кто нибудь",
        "кто нибудь есть",
        "кто тут",
        "ответьте",
        "ответьте пожалуйста",
        "почему молчите",
        "почему не отвечаете",
    ),
    SmallTalk.GREETING: (
        "здравствуйте",
        "здраствуйте",
        "здравствуй",
        "привет",
        "приветствую",
        "добрый день",
        "доброе утро",
        "добрый вечер",
        "доброго дня",
        "доброго времени суток",
        "день добрый",
        "hello",
        "как дела",
        "как жизнь",
        "как поживаете",
        "hi",
        "алло",
        "ау",
        "здрасте",
        "здрасьте",
        "здрасти",
        "драсте",
        "хай",
    ),
    SmallTalk.ACKNOWLEDGEMENT: (
        "ок",
        "окей",
        "ok",
        "okay",
        "хорошо",
        "понятно",
        "ясно",
        "понял",
        "поняла",
        "поняли",
        "ладно",
        "ага",
        "угу",
        "принято",
        "договорились",
        "отлично",
        "супер",
        "ответ получила",
        "ответ получил",
        "ответ получен",
        "ответ получили",
        "все получила",
        "все получил",
        "все понятно",
        "все ясно",
    ),
}
# Words that may surround a greeting without turning it into a question.
_FILLER_WORDS = (
    "и а вам вас тебе вы ты всем очень уважаемые ребята девушки коллеги у меня есть вопрос "
    "можно задать за ответ ответы помощь информацию "
    "все всё вот еще ещё раз тебя дорогая дорогой дорогие милая милые наших нас желаю "
    "желаем здоровья счастья я снова опять тут здесь к помогли помогла помог выручили "
    # How elderly clients address whoever answers: «спасибо, дочка».
    "большое огромное громадное преогромное мне очень "
    "дочка доченька дочь дочечка сынок сыночек деточка детка милок милочка миленькая "
    "родная родненькая голубушка солнышко красавица девочки девушка молодой человек"
)
_FILLER = frozenset(_FILLER_WORDS.split())


def _phrase_tokens() -> list[tuple[SmallTalk, tuple[str, ...]]]:
    pairs = [(kind, tuple(p.split())) for kind, ps in _PHRASES.items() for p in ps]
    return sorted(pairs, key=lambda pair: -len(pair[1]))


# By first word, longest first: only the phrases that can start at a position are tried.
_BY_FIRST: dict[str, list[tuple[SmallTalk, tuple[str, ...]]]] = {}
for _kind, _phrase in _phrase_tokens():
    _BY_FIRST.setdefault(_phrase[0], []).append((_kind, _phrase))


def detect_smalltalk(text: str) -> SmallTalk | None:
    """The kind of small talk when the message holds nothing else; "are you a robot?" wins
    over the rest, then «помогите», thanks over wishes, wishes over goodbyes and greetings,
    all over "ok"."""
    return smalltalk_in(tokenize(text))


# A message of emoji alone (the words step drops them): the common ones of thanks, greeting
# and agreement are answered as those words would be. Others (a sad face) stay questions.
_EMOJI: dict[SmallTalk, str] = {
    SmallTalk.THANKS: "🙏❤♥💐🌹🌷🌺🌸😘🥰😍🤗💕💖",
    SmallTalk.GREETING: "👋",
    SmallTalk.ACKNOWLEDGEMENT: "👍👌✅🆗✔👏💪🙂😊☺😀😃😄👆",
}
# Skin tones, variation selectors and joiners ride along with the emoji above.
_EMOJI_MODIFIERS = frozenset("\ufe0f\ufe0e\u200d🏻🏼🏽🏾🏿")


def emoji_smalltalk(text: str) -> SmallTalk | None:
    """The kind of small talk a message of emoji alone (and spaces, punctuation) is."""
    found: set[SmallTalk] = set()
    for char in text:
        if char.isspace() or char in _EMOJI_MODIFIERS or char in ".,!)(":
            continue
        kind = next((k for k, chars in _EMOJI.items() if char in chars), None)
        if kind is None:
            return None
        found.add(kind)
    return next((kind for kind in _PHRASES if kind in found), None)


def smalltalk_in(tokens: list[str]) -> SmallTalk | None:
    """detect_smalltalk on a message's words (faq.normalize.tokenize)."""
    found: set[SmallTalk] = set()
    i = 0
    while i < len(tokens):
        step = _match_at(tokens, i, found)
        if step == 0:
            if tokens[i] not in _FILLER:
                return None
            step = 1
        i += step
    return next((kind for kind in _PHRASES if kind in found), None)


def _match_at(tokens: list[str], i: int, found: set[SmallTalk]) -> int:
    for kind, phrase in _BY_FIRST.get(tokens[i], ()):
        if tuple(tokens[i : i + len(phrase)]) == phrase:
            found.add(kind)
            return len(phrase)
    return 0
