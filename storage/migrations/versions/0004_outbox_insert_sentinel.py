"""outbox: an insert sentinel, so that leased outbox rows go in one INSERT on SQLite too

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 23:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('outbox', sa.Column('_sentinel', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:  # SQLite drops a column by copying
        batch.drop_column('_sentinel')
