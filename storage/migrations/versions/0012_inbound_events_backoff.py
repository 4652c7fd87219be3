"""inbound_events.attempts, retry_at: a replay that keeps failing waits longer each time

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 20:00:00

An event left "received" by a transient error was replayed every minute for as long as the
error lasted, and nobody was told; now the pause doubles up to an hour, and an administrator
sees the events tried many times (storage/replay_backoff.py).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('inbound_events', sa.Column('attempts', sa.Integer(), nullable=False,
                                              server_default='0'))
    op.add_column('inbound_events', sa.Column('retry_at', sa.DateTime(timezone=True),
                                              nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_events') as batch:  # SQLite drops a column by copying
        batch.drop_column('retry_at')
        batch.drop_column('attempts')
