"""staff_backlog: posts for the specialists' group kept through a Telegram outage, in order

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_backlog',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('surface', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('parts', sa.JSON(), nullable=False),
        sa.Column('lost', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_staff_backlog_conversation', 'staff_backlog', ['conversation_id', 'id'])
    op.create_index('ix_staff_backlog_due', 'staff_backlog', ['surface', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_staff_backlog_due', table_name='staff_backlog')
    op.drop_index('ix_staff_backlog_conversation', table_name='staff_backlog')
    op.drop_table('staff_backlog')
