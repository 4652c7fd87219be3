"""clients.app_lacks: what a client's app does not show of buttons, kept across restarts

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 17:00:00

A process remembered it only from the client's messages it had seen itself: after a restart,
or in another replica, a client whose VK app shows no buttons was told to press them.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('clients', sa.Column('app_lacks', sa.String(32), nullable=False,
                                       server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('clients') as batch:  # SQLite drops a column by copying
        batch.drop_column('app_lacks')
