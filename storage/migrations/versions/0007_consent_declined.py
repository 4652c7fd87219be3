"""clients.consent_declined: a client who refused consent has no name kept until they agree

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 15:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Refusals made before this revision were not kept: those clients' names stay until the
    # retention job or their next refusal.
    op.add_column('clients', sa.Column('consent_declined', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('clients') as batch:  # SQLite drops a column by copying
        batch.drop_column('consent_declined')
