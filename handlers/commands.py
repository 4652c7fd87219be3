"""Recognition of typed commands, so that clients without buttons can still steer."""

from __future__ import annotations

import re

from faq.matcher import QUESTION_WORDS
from handlers.model import Action, ActionKind
from handlers.readings import readings_of, to_key

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


def parse_command(text: str) -> Action | None:
    """The action a short typed message stands for, if it is a command at all."""
    if len(text) > 40:
        return None
    key = to_key(text)
    if key.startswith("/"):
        key = key.split("@", 1)[0].split(" ", 1)[0]  # "/start@bot payload" in groups
    return _COMMANDS.get(key)


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
               for key in map(to_key, readings or readings_of(text)))


# Forms of the matcher's question words that a question opens with too.
_OPENERS = QUESTION_WORDS | {"что", "какая", "какое", "какие", "каких", "каком", "сколько"}


def looks_like_question(text: str) -> bool:
    """«Как оформить наследство на дачу?» rather than «Вот мои документы»: it ends with a
    question mark or opens with a question word."""
    words = re.findall(r"[а-яё]+", text.lower()[:40])
    return text.rstrip().endswith("?") or (bool(words) and words[0] in _OPENERS)
