"""A client's name and personal data blanked in the raw platform events kept of them (152-ФЗ)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.engine import Connection

from handlers.pii import mask
from storage.models import InboundEvent

# Telegram's User and Chat; VK's users carry screen_name. The contact a client shares is
# blanked too: a raw copy needs no one's name to be processed again.
PROFILE_FIELDS = frozenset(("first_name", "last_name", "username", "screen_name"))

_events = cast(Table, InboundEvent.__table__)
# The kind of a raw event whose client was erased while it was being processed: its body is
# blanked when its processing status is written (storage/staff.py).
ERASED_KIND = "erased-client"
# Events are processed within seconds of their arrival; a minute covers a busy replica.
ERASURE_WINDOW = timedelta(minutes=1)


def masked_without_names(raw: str) -> str:
    """The raw JSON with every profile name field blank and every other text value masked
    (handlers.pii, names too); any other body masked as text.

    Only values change: update_id and event_id, which dedupe and replay read, stay. Values
    one by one, not the body's text: a Telegram date that reads as an ИНН turned into
    «"date": [ИНН]», and the JSON could be read no more (one date in ten: 401 of 4,000
    consecutive seconds in November 2026)."""
    return _rewritten(raw, _masked, _masked)


def _masked(text: str) -> str:
    return mask(text, names=True)


def _rewritten(raw: str, on_text: Callable[[str], str], on_other: Callable[[str], str]) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return on_other(raw)
    changed = _blank(body, on_text)
    return raw if changed == body else json.dumps(changed, ensure_ascii=False)


def _blank(value: object, on_text: Callable[[str], str]) -> object:
    if isinstance(value, dict):
        return {k: "" if k in PROFILE_FIELDS and isinstance(v, str) else _blank(v, on_text)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_blank(v, on_text) for v in value]
    return on_text(value) if isinstance(value, str) else value


def mask_pending(conn: Connection, channel: str, user_id: str) -> None:
    """Masks the events of this user not yet processed, the one being processed now among
    them, as their stored messages are: a client who declined consent keeps neither a name
    nor a phone number in a raw copy. Bodies are matched by the user id, as erasures do."""
    pending = conn.execute(select(_events.c.id, _events.c.raw).where(
        _events.c.channel == channel, _events.c.status == "received",
        _events.c.raw.contains(user_id, autoescape=True)))
    for event_id, raw in pending.all():
        if (masked := masked_without_names(raw)) != raw:
            conn.execute(update(_events).where(_events.c.id == event_id).values(raw=masked))


def forget_pending(conn: Connection, channel: str, user_id: str) -> None:
    """The events of an erased client not yet processed: masked now, still readable for a
    re-run, and blanked once processed. Matched by the user id, as erasures match them."""
    pending = conn.execute(select(_events.c.id, _events.c.raw).where(
        _events.c.channel == channel, _events.c.status == "received",
        _events.c.raw.contains(user_id, autoescape=True)))
    for event_id, raw in pending.all():
        # Still "received": one processed meanwhile is deleted with the processed ones.
        conn.execute(update(_events).where(
            _events.c.id == event_id, _events.c.status == "received")
            .values(raw=masked_without_names(raw), kind=ERASED_KIND))


def erased_meanwhile(conn: Connection, users: Collection[tuple[str, str]],
                     now: datetime) -> set[tuple[str, str]]:
    """Of these (channel, user id) with no client row, those with events still pending from
    an erasure: their messages were sent as it was made and are not kept. Such events are
    rare, so all of them are read: no statement grows with the users asked about. One left
    pending by a crash silences its sender for ERASURE_WINDOW at most."""
    if not users:
        return set()
    rows = conn.execute(select(_events.c.channel, _events.c.raw).where(
        _events.c.status == "received", _events.c.kind == ERASED_KIND,
        _events.c.received_at >= now - ERASURE_WINDOW)).all()
    return {(channel, user) for channel, user in users
            if any(c == channel and _names(user, raw) for c, raw in rows)}


def _names(user_id: str, raw: str) -> bool:
    """Whether the body holds this user id as a whole value: user 1234 is not in a date
    1712341234, and a message of theirs is not dropped for another's erasure."""
    return re.search(rf"(?<![\w-]){re.escape(user_id)}(?![\w-])", raw) is not None
