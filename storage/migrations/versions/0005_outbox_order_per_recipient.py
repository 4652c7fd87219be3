"""outbox: replies to one chat go out in order; held retries are told from leases and 429s

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 11:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A row held before this revision may be brought forward by the end of an outage, as
    # it could be before.
    op.add_column('outbox', sa.Column('held', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.execute(sa.text("UPDATE outbox SET held = :yes WHERE status = 'pending' AND attempts > 0")
               .bindparams(yes=True))
    op.create_index('ix_outbox_recipient', 'outbox', ['channel', 'address', 'status', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_recipient', table_name='outbox')
    with op.batch_alter_table('outbox') as batch:  # SQLite drops a column by copying
        batch.drop_column('held')
