"""card care: a folded name for search, voided passes of replaced cards, merged cards

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-12 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text('voided_at IS NULL')


def _fold(text: str) -> str:
    # The same folding as app.loyalty.rules.fold at the time of writing (kept here so
    # the migration does not change when the code does).
    return ' '.join(text.casefold().replace('ё', 'е').split())


def upgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('name_folded', sa.String(length=100), server_default='', nullable=False)
        )
    members = sa.table('members', sa.column('id', sa.Integer), sa.column('name', sa.String),
                       sa.column('name_folded', sa.String))  # fmt: skip
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(members.c.id, members.c.name)
            .where(members.c.id > last)
            .order_by(members.c.id)
            .limit(5000)
        ).all()
        if not rows:
            break
        bind.execute(
            members.update().where(members.c.id == sa.bindparam('mid')),
            [{'mid': r.id, 'name_folded': _fold(r.name or '')} for r in rows],
        )
        last = rows[-1].id
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_cards_merged_into_id_cards'), 'cards', ['merged_into_id'], ['id']
        )
    with op.batch_alter_table('wallet_passes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voided_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('voided_number', sa.String(length=20), nullable=True))
        batch_op.drop_constraint('uq_wallet_passes_card_id', type_='unique')
        batch_op.create_index(
            batch_op.f('ix_wallet_passes_voided_number'), ['voided_number'], unique=False
        )
        batch_op.create_index(
            'uq_wallet_passes_live_card_id',
            ['card_id'],
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        )


def downgrade() -> None:
    op.execute('DELETE FROM wallet_passes WHERE voided_at IS NOT NULL')
    with op.batch_alter_table('wallet_passes', schema=None) as batch_op:
        batch_op.drop_index('uq_wallet_passes_live_card_id')
        batch_op.drop_index(batch_op.f('ix_wallet_passes_voided_number'))
        batch_op.create_unique_constraint('uq_wallet_passes_card_id', ['card_id'])
        batch_op.drop_column('voided_number')
        batch_op.drop_column('voided_at')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cards_merged_into_id_cards'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('name_folded')
