"""A short follow-up question read together with the topic of the answer before it."""

from __future__ import annotations

from faq.model import Entry


def topic_of(entry: Entry) -> str:
    """The words that name what an entry is about.

    Its first keyword («субсидия на жку»), not its question: prepended, the whole question
    («Как оформить субсидию на оплату ЖКУ?») outweighed every follow-up's own words on
    kb/sample, so «а как продлить» matched the earlier entry again instead of the renewal one.
    An entry without keywords falls back to its question: a follow-up then reads as about it.
    """
    return entry.keywords[0] if entry.keywords else entry.question


def in_context(text: str, entry: Entry) -> str:
    """The text to match for a follow-up to an answer of `entry`."""
    return f"{topic_of(entry)} {text}"
