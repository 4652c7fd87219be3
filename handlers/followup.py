"""Follow-up questions («а сколько это стоит?») read as about the answer just given."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from faq.context import in_context
from faq.model import Decision, MatchResult
from handlers.faq_ports import Faq
from handlers.model import LastAnswer

# Past this the client has likely moved on; a question then is taken alone, as any other.
FOLLOW_UP_WITHIN = timedelta(minutes=30)
# «а какие документы нужны для этого» is 6 words; a longer message names its own subject.
MAX_WORDS = 6
_OPENERS = frozenset({"а", "и"})
# Words that point back at something said before: «а где это», «туда», «на него».
_BACK_REFERENCES = frozenset({
    "это", "этого", "этому", "этим", "этом", "эта", "эту", "этот", "туда", "там", "тут",
    "его", "её", "ее", "него", "неё", "нее", "нему", "ней", "нём", "нем", "оно", "она", "он",
    "их", "них", "им", "ним", "такое", "такого", "тоже",
})
_WORD = re.compile(r"[а-яёa-z0-9]+")


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A message matched with the previous answer's topic; `again` when it is that answer's
    own entry once more (the answer is just above)."""

    match: MatchResult
    again: bool


def looks_like_follow_up(text: str) -> bool:
    """Short, and opens with «а»/«и» or refers back («это», «туда», «его»)."""
    words = _WORD.findall(text.lower())
    if not words or len(words) > MAX_WORDS:
        return False
    return words[0] in _OPENERS or any(w in _BACK_REFERENCES for w in words)


def recent(last: LastAnswer | None, now: datetime) -> str | None:
    """The entry answered last, when that was recent enough to be what the client means."""
    if last is None or not timedelta(0) <= now - last.at <= FOLLOW_UP_WITHIN:
        return None
    return last.entry_id


def read_follow_up(faq: Faq, text: str, alone: MatchResult, last: LastAnswer | None,
                   now: datetime) -> FollowUp | None:
    """The message read with the topic of the recent answer, when that helps; else None.

    A message the matcher answers or recognises as small talk on its own keeps that decision:
    context may only turn an unsure one («а сколько это денег» → no match) into a decision.
    """
    if alone.decision in (Decision.ANSWER, Decision.SMALLTALK) \
            or not looks_like_follow_up(text):
        return None
    entry_id = recent(last, now)
    entry = faq.kb.entry(entry_id) if entry_id else None
    if entry is None:
        return None
    match = faq.match(in_context(text, entry))
    best = match.best
    if match.decision is Decision.ANSWER and best is not None:
        if best.entry_id == entry.id:
            return FollowUp(match, again=True)
        if _points_on(faq, best.entry_id, entry.category, alone):
            return FollowUp(match, again=False)
        # The topic's words alone carried it to a neighbour: a choice, not an answer.
        match = MatchResult(Decision.CLARIFY, match.candidates[:3])
    # Options within the topic just discussed beat options guessed from «сколько» alone.
    return FollowUp(match, again=False) if match.decision is Decision.CLARIFY else None


def _points_on(faq: Faq, entry_id: str, category: str, alone: MatchResult) -> bool:
    """Whether another entry answered with context is one the follow-up's own words suggest
    too (among its candidates alone), within the topic just discussed. Without both, probes of
    kb/sample answered «а сколько это стоит» after «технические средства реабилитации» with the
    social taxi, and «и где его оформить» after a social worker with what one does."""
    found = faq.kb.entry(entry_id)
    return found is not None and found.category == category \
        and any(c.entry_id == entry_id for c in alone.candidates)
