"""How a client's question is read: as several questions, as a follow-up, or alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from faq.model import MatchResult
from handlers.faq_ports import Faq
from handlers.followup import read_follow_up
from handlers.model import LastAnswer
from handlers.multi import answer_each

# Matching reads the start of a message only: a question buried after 1,000 characters of
# story is rare, and a 50,000-character paste must not cost more than a normal message.
MAX_MATCH_CHARS = 1000

@dataclass(frozen=True, slots=True)
class Reading:
    """The judgement recorded for a message, and how to reply to it: `several` answers its
    candidates in order; `above` points back at the answer just given (its best candidate)."""

    match: MatchResult
    several: bool = False
    above: bool = False


def read_question(faq: Faq, text: str, last: LastAnswer | None, now: datetime) -> Reading:
    """Several questions first: each part passes the usual threshold on its own, so the
    context of an earlier answer is never needed for them."""
    several = answer_each(faq, text)
    if several is not None:
        return Reading(several, several=True)
    alone = faq.match(text)
    follow_up = read_follow_up(faq, text, alone, last, now)
    if follow_up is None:
        return Reading(alone)
    return Reading(follow_up.match, above=follow_up.again)
