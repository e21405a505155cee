"""safe campaigns: end dates, birthday trigger offsets, which campaign a card's offer is from

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-12 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('campaigns', sa.Column('trigger_days', sa.Integer(), nullable=True))
    op.add_column('campaigns', sa.Column('ends_at', app.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('campaigns', sa.Column('offers_cleared_at', app.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('cards', sa.Column('offer_campaign_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_cards_offer_campaign_id'), 'cards', ['offer_campaign_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_cards_offer_campaign_id'), table_name='cards')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_column('offer_campaign_id')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('offers_cleared_at')
        batch_op.drop_column('ends_at')
        batch_op.drop_column('trigger_days')
