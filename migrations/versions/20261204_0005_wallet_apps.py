"""wallet apps: each registered device records its wallet app and PassWallet's relay URL

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('apple_devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wallet_app', sa.String(length=20), server_default='apple_wallet', nullable=False))
        batch_op.add_column(sa.Column('push_service_url', sa.String(length=512), nullable=True))
        batch_op.create_index(batch_op.f('ix_apple_devices_wallet_app'), ['wallet_app'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('apple_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apple_devices_wallet_app'))
        batch_op.drop_column('push_service_url')
        batch_op.drop_column('wallet_app')
