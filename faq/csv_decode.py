"""A spreadsheet's CSV bytes → text: which encoding they are in, and which cells are garbled."""

from __future__ import annotations

import codecs
import re

from faq.loader import KbError, Problem
from faq.mojibake import EXCERPT, garbled

# An .xlsx workbook is a ZIP archive; an old .xls one an OLE2 compound file.
_WORKBOOKS = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")
SAVE_AS = 'save it in Excel as "CSV UTF-8" (File → Save As) and import that file'
# Undecodable bytes are kept as these surrogates ("surrogateescape"), so that a cell can say
# which byte it holds and where.
_ESCAPED = re.compile("[\udc80-\udcff]")


def decode_csv(data: bytes, source: str) -> str:
    """UTF-8 (with or without a BOM), UTF-16 with a BOM (Excel's «Текст в Юникоде»), else
    Windows-1251, which Excel on a Russian Windows writes for "CSV (разделители — запятые)".
    Bytes none of these read stay escaped, for `unreadable` to name."""
    if data.startswith(_WORKBOOKS):
        raise KbError([Problem(source, "", f"this is an Excel workbook, not CSV: {SAVE_AS}")])
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _utf16(data, source)
    text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8", "surrogateescape")
    if data.startswith(codecs.BOM_UTF8) or not _written_in_cp1251(text):
        return text
    return data.decode("cp1251", "surrogateescape")


def _utf16(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-16")
    except UnicodeDecodeError as error:
        reason = f"not readable as UTF-16 at byte {error.start}: {SAVE_AS}"
        raise KbError([Problem(source, "", reason)]) from None


def _written_in_cp1251(text: str) -> bool:
    """Whether text read as UTF-8 is Windows-1251 instead: there nearly every Russian letter is
    a byte UTF-8 cannot read, while a UTF-8 file with a stray byte pasted in («№» from an old
    document) has far more readable letters than bad bytes, and reading all of it as
    Windows-1251 would garble every letter."""
    bad = len(_ESCAPED.findall(text))
    return bad > sum(ch >= "\x80" for ch in text) - bad


def unreadable(cell: str) -> str:
    """Why a cell's text is not what its author wrote, or "" when it reads well."""
    escaped = _ESCAPED.search(cell)
    if escaped is not None:
        byte = ord(escaped.group()) - 0xDC00
        where = cell[:escaped.start()][-EXCERPT:]
        return (f"unreadable byte 0x{byte:02X}{_as_cp1251(byte)} "
                f"{f'after «{_shown(where)}»' if where else 'at the start of the cell'}: "
                'retype that character in the spreadsheet and save the file as "CSV UTF-8"')
    excerpt = garbled(cell)
    if excerpt:
        return (f"garbled text «{excerpt}…» (UTF-8 read as Windows-1251 on the way): "
                "write it again or copy it from the original, or start again from a file "
                "that `priemnaya faq export` writes (Excel opens those correctly)")
    return ""


def _as_cp1251(byte: int) -> str:
    char = bytes([byte]).decode("cp1251", "replace")
    return f" («{char}» in Windows-1251)" if char.isprintable() and char != "\ufffd" else ""


def _shown(text: str) -> str:
    return " ".join(text.split())
