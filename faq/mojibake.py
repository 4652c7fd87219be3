"""Text that is UTF-8 read as Windows-1251 on its way to us, the way a spreadsheet or an
editor garbles it: «Семьи» becomes «РЎРµРјСЊРё». Shared by the CSV import and `faq check`."""

from __future__ import annotations

import re

# UTF-8's Cyrillic read as Windows-1251: «Р» or «С» (lead bytes D0, D1), then a sign or rare
# letter (continuation bytes 80–BF).
_CONTINUATIONS = bytes(range(0x80, 0xC0)).decode("cp1251", "ignore")
_MOJIBAKE = re.compile(f"[РС][{re.escape(_CONTINUATIONS)}]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
# Text of this many characters is quoted to show where a cell went wrong.
EXCERPT = 20


def garbled(text: str) -> str:
    """The start of text that is UTF-8 read as Windows-1251 («РЎРµРјСЊРё»), or ""."""
    pairs = _MOJIBAKE.findall(text)
    if len(pairs) >= 2 and 4 * len(pairs) >= len(_CYRILLIC.findall(text)):
        start = _MOJIBAKE.search(text)
        return " ".join(text[start.start() if start else 0:][:EXCERPT].split())
    return ""
