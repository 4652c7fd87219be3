"""inbound_events: the VK community's Callback secret blanked in the raw events kept so far

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 16:00:00
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# What bots/vk/events.py keeps instead of the secret since this revision.
KEPT = '[secret]'
BATCH = 1000
_events = sa.table('inbound_events', sa.column('id', sa.BigInteger()),
                   sa.column('channel', sa.String()), sa.column('raw', sa.Text()))


def upgrade() -> None:
    conn, last = op.get_bind(), 0
    while rows := conn.execute(
            sa.select(_events.c.id, _events.c.raw)
            .where(_events.c.channel == 'vk', _events.c.id > last,
                   _events.c.raw.contains('"secret"', autoescape=True))
            .order_by(_events.c.id).limit(BATCH)).all():
        for event_id, raw in rows:
            blanked = _blanked(raw)
            if blanked != raw:
                conn.execute(_events.update().where(_events.c.id == event_id)
                             .values(raw=blanked))
        last = rows[-1][0]


def _blanked(raw: str) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    if not isinstance(body, dict) or body.get('secret', KEPT) == KEPT:
        return raw
    return json.dumps({**body, 'secret': KEPT}, ensure_ascii=False)


def downgrade() -> None:
    pass  # the secret is not kept anywhere to put back
