"""A message as the web chat shows it: the numbered copy of its buttons moved onto them."""

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
    numbered = set(_numbered_lines(buttons))
    if not numbered:
        return text
    kept = [line for line in text.split("\n") if line.strip() not in numbered]
    return _BLANK_LINES.sub("\n\n", "\n".join(kept))


def to_web_numbers(text: str, buttons: Sequence[Sequence[Button]]) -> list[list[int | None]]:
    """Per button, the number of its line that to_web_text dropped, None for one without.

    The text still says «нажмите на кнопку… или напишите его номер»: the button shows the
    number, so that the one typed is the one meant.
    """
    lines = {line.strip() for line in text.split("\n")}
    numbers = iter(number if line in lines else None
                   for line, number in _numbered_lines(buttons).items())
    return [[next(numbers) for _ in row] for row in buttons]


def _numbered_lines(buttons: Sequence[Sequence[Button]]) -> dict[str, int]:
    labels = [b.label for row in buttons for b in row]
    return {f"{n}. {label}": n for n, label in enumerate(labels, 1)}
