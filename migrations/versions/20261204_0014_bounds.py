"""bounds: money and points as BIGINT on PostgreSQL; why a campaign failed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's INTEGER already holds 64 bits (the models use INTEGER there).
MONEY_COLUMNS = {
    'cards': ('balance',),
    'ledger_entries': ('points', 'remaining'),
    'receipts': (
        'amount',
        'discount_amount',
        'points_redeemed',
        'points_earned',
        'amount_due',
        'balance_after',
    ),
    'refunds': (
        'amount',
        'money_back',
        'points_returned',
        'points_taken_back',
        'points_shortfall',
        'balance_after',
    ),
}


def _money(to: sa.types.TypeEngine, source: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table, columns in MONEY_COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=to, existing_type=source)


def upgrade() -> None:
    _money(sa.BigInteger(), sa.Integer())
    op.add_column('campaigns', sa.Column('failure_reason', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('failure_reason')
    _money(sa.Integer(), sa.BigInteger())
