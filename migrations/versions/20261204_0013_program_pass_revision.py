"""programs.pass_revision, simulated_effects. pass_revision: a new random value whenever every card of a program changes look

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'simulated_effects',
        sa.Column('campaign_id', sa.Integer(), nullable=False),
        sa.Column('uplift_per_card', sa.Float(), nullable=False),
        sa.Column('response_rate', sa.Float(), nullable=False),
        sa.Column('seed', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_simulated_effects_campaign_id_campaigns'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('campaign_id', name=op.f('pk_simulated_effects')),
    )
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pass_revision', sa.BigInteger(), server_default='0', nullable=False))


def downgrade() -> None:
    op.drop_table('simulated_effects')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('pass_revision')
