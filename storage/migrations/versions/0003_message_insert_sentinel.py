"""messages: an insert sentinel, so that many messages go in one INSERT on SQLite too

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 17:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('messages', sa.Column('_sentinel', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:  # SQLite drops a column by copying
        batch.drop_column('_sentinel')
