"""staff_posts: what the bot posted in the specialists' group, deleted when a client is erased

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 14:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_posts',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('thread', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.BigInteger(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=False),
        sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_staff_posts_conversation', 'staff_posts', ['conversation_id'])
    op.create_index('ix_staff_posts_due', 'staff_posts', ['status', 'next_attempt_at'])


def downgrade() -> None:
    op.drop_index('ix_staff_posts_due', table_name='staff_posts')
    op.drop_index('ix_staff_posts_conversation', table_name='staff_posts')
    op.drop_table('staff_posts')
