"""render failures and Google root keys: a pass that cannot be rendered is held with its
reason and retried with backoff; the worker stores Google's callback keys for the web

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 15:31:57.752195
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('google_root_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_url', sa.String(length=500), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('fetched_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_google_root_keys')),
    sa.UniqueConstraint('source_url', name=op.f('uq_google_root_keys_source_url'))
    )
    op.create_table('pass_render_failures',
    sa.Column('pass_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('first_failed_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_failed_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retry_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pass_id'], ['wallet_passes.id'], name=op.f('fk_pass_render_failures_pass_id_wallet_passes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pass_id', name=op.f('pk_pass_render_failures'))
    )
    with op.batch_alter_table('pass_render_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pass_render_failures_retry_at'), ['retry_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pass_render_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pass_render_failures_retry_at'))

    op.drop_table('pass_render_failures')
    op.drop_table('google_root_keys')
