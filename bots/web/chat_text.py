"""A message's text as the web chat shows it: the numbered copy of its buttons left out."""

from __future__ import annotations

import re
from collections.abc import Sequence

from handlers.model import Button

_BLANK_LINES = re.compile(r"\n{3,}")


def to_web_text(text: str, buttons: Sequence[Sequence[Button]]) -> str:
    """Drops the lines «1. …» that repeat a button's whole label at its place.

    Texts that offer choices number them in full (clarify.j2, category.j2): VK cuts a button
    at 40 characters and some apps show none, and the stored text is the one the desk shows.
    The web page shows each button whole, so on a phone the list only doubled the message.
    """
    labels = [b.label for row in buttons for b in row]
    numbered = {f"{n}. {label}" for n, label in enumerate(labels, 1)}
    if not numbered:
        return text
    kept = [line for line in text.split("\n") if line.strip() not in numbered]
    return _BLANK_LINES.sub("\n\n", "\n".join(kept))
