"""wallet app events: installs and removals per wallet app, for the dashboard and segments

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'wallet_app_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('wallet_app', sa.String(length=20), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('pass_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ['pass_id'],
            ['wallet_passes.id'],
            name=op.f('fk_wallet_app_events_pass_id_wallet_passes'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_app_events')),
    )
    with op.batch_alter_table('wallet_app_events', schema=None) as batch_op:
        batch_op.create_index('ix_wallet_app_events_at_app', ['at', 'wallet_app'], unique=False)
        batch_op.create_index(batch_op.f('ix_wallet_app_events_pass_id'), ['pass_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wallet_app_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_app_events_pass_id'))
        batch_op.drop_index('ix_wallet_app_events_at_app')
    op.drop_table('wallet_app_events')
