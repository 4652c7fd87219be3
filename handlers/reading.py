"""How a client's question is read: as a follow-up to the answer before it, or alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from faq.model import MatchResult
from handlers.followup import read_follow_up
from handlers.model import LastAnswer
from handlers.ports import Faq


@dataclass(frozen=True, slots=True)
class Reading:
    """The judgement recorded for a message, and how to reply to it: `above` points back at
    the answer just given (its best candidate)."""

    match: MatchResult
    above: bool = False


def read_question(faq: Faq, text: str, last: LastAnswer | None, now: datetime) -> Reading:
    alone = faq.match(text)
    follow_up = read_follow_up(faq, text, alone, last, now)
    if follow_up is None:
        return Reading(alone)
    return Reading(follow_up.match, above=follow_up.again)
