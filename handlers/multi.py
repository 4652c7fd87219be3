"""Two or three questions in one message, each answered in turn."""

from __future__ import annotations

import re

from faq.model import Candidate, Decision, MatchResult
from handlers.commands import looks_like_question
from handlers.faq_ports import Faq

MAX_PARTS = 3
# A part of one word («Здравствуйте.», «Так.») asks nothing; it is left out before counting.
MIN_PART_WORDS = 2
_QUESTION_WORD = (r"(?:как|где|куда|когда|сколько|какие|какой|какая|какое|что|можно|нужно|кто"
                  r"|почему|зачем)")
# Sentence ends, and the joiners clients put between two questions: «и ещё вопрос», «а также»,
# «второй вопрос», and «и»/«а» right before a question word («…рассмотрение и какие документы»).
_SPLIT = re.compile(
    r"[?!.;\n]+"
    r"|,?\s+(?:и\s+ещ[её]\s+вопрос|второй\s+вопрос|и\s+ещ[её]|а\s+также)\b[:,]?"
    rf"|,?\s+[иа]\s+(?={_QUESTION_WORD}\b)",
    re.IGNORECASE,
)


def parts_of(text: str) -> list[str]:
    """The questions a message may hold; [] when it is one, or a story of many sentences."""
    parts = [p.strip(" ,:-—") for p in _SPLIT.split(text)]
    parts = [p for p in parts if len(p.split()) >= MIN_PART_WORDS]
    return parts if 2 <= len(parts) <= MAX_PARTS else []


def answer_each(faq: Faq, text: str) -> MatchResult | None:
    """The entries of a message's questions, in order, when two or more different ones are
    each answered with the usual confidence; None otherwise (the message is matched whole).

    Only parts that read as questions count: «У меня инвалидность. Как вызвать такси?» holds
    one question, and its first sentence must not get an answer of its own.
    """
    found: list[Candidate] = []
    for part in parts_of(text):
        match = faq.match(part) if looks_like_question(part) else None
        best = match.best if match is not None and match.decision is Decision.ANSWER else None
        if best is not None and all(c.entry_id != best.entry_id for c in found):
            found.append(best)
    return MatchResult(Decision.ANSWER, tuple(found)) if len(found) >= 2 else None
