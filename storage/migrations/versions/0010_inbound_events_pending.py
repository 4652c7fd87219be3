"""inbound_events: an index of the events not yet processed, by channel

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 16:10:00

The events still to process are a handful among a year of processed ones: replay at start-up
and the blanking of a declined client's names in them (storage/raw_names.py) read them on
every message of such a client, which scanned the whole table.
"""
from __future__ import annotations

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_inbound_events_pending', 'inbound_events', ['status', 'channel'])


def downgrade() -> None:
    op.drop_index('ix_inbound_events_pending', table_name='inbound_events')
