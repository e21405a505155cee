"""receipt lines as rows (segments by what people buy), loyal-buyer rule, offer size
fallback, campaign targets kept per occurrence with the moment they were targeted

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000


def upgrade() -> None:
    op.create_table(
        'receipt_lines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('receipt_pk', sa.Integer(), nullable=False),
        sa.Column('card_id', sa.Integer(), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sku', sa.String(length=200), nullable=True),
        sa.Column('category', sa.String(length=200), nullable=True),
        sa.Column('size', sa.String(length=200), nullable=True),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['card_id'], ['cards.id'], name=op.f('fk_receipt_lines_card_id_cards'), ondelete='CASCADE'
        ),
        sa.ForeignKeyConstraint(
            ['receipt_pk'],
            ['receipts.id'],
            name=op.f('fk_receipt_lines_receipt_pk_receipts'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_lines')),
    )
    _copy_lines()
    # Indexes after the copy: building them once is faster than growing them row by row.
    with op.batch_alter_table('receipt_lines', schema=None) as batch_op:
        batch_op.create_index('ix_receipt_lines_category', ['category', 'created_at', 'card_id'])
        batch_op.create_index('ix_receipt_lines_size', ['size', 'created_at', 'card_id'])
        batch_op.create_index('ix_receipt_lines_sku', ['sku', 'created_at', 'card_id'])
        batch_op.create_index('ix_receipt_lines_card', ['card_id', 'category', 'size'])
        batch_op.create_index('ix_receipt_lines_receipt_pk', ['receipt_pk'])

    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('loyal_min_purchases', sa.Integer(), server_default='4', nullable=False)
        )
        batch_op.add_column(
            sa.Column('loyal_window_days', sa.Integer(), server_default='365', nullable=False)
        )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offer_fallback_en', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('offer_fallback_ru', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('size_category', sa.String(length=200), nullable=True))
    with op.batch_alter_table('campaign_targets', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('targeted_at', app.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('occurrence', sa.Integer(), server_default='0', nullable=False)
        )
        batch_op.drop_constraint('uq_campaign_targets_campaign_id_card_id', type_='unique')
        batch_op.create_unique_constraint(
            op.f('uq_campaign_targets_campaign_id_card_id_occurrence'),
            ['campaign_id', 'card_id', 'occurrence'],
        )
    # Targets chosen before this column existed: the offer's moment, else the campaign's start.
    op.execute(
        'UPDATE campaign_targets SET targeted_at = COALESCE(applied_at, '
        '(SELECT COALESCE(c.started_at, c.send_at, c.created_at) FROM campaigns c '
        'WHERE c.id = campaign_targets.campaign_id))'
    )


def _copy_lines() -> None:
    """The lines of the card holders' receipts stored so far, copied in batches."""
    bind = op.get_bind()
    receipts = sa.table(
        'receipts',
        sa.column('id', sa.Integer()),
        sa.column('card_id', sa.Integer()),
        sa.column('created_at', app.db.UTCDateTime()),
        sa.column('lines', sa.JSON()),
    )
    lines = sa.table(
        'receipt_lines',
        sa.column('receipt_pk', sa.Integer()),
        sa.column('card_id', sa.Integer()),
        sa.column('created_at', app.db.UTCDateTime()),
        sa.column('sku', sa.String()),
        sa.column('category', sa.String()),
        sa.column('size', sa.String()),
        sa.column('quantity', sa.Integer()),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(receipts.c.id, receipts.c.card_id, receipts.c.created_at, receipts.c.lines)
            .where(receipts.c.id > last, receipts.c.card_id.is_not(None))
            .order_by(receipts.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        out = []
        for pk, card_id, at, raw in rows:
            items = json.loads(raw) if isinstance(raw, str) else raw
            for line in items or ():
                if isinstance(line, dict):
                    out.append(_row(pk, card_id, at, line))
        if out:
            bind.execute(sa.insert(lines), out)
        last = rows[-1][0]


def _row(pk: int, card_id: int, at: object, line: dict[str, object]) -> dict[str, object]:
    def text(name: str) -> object:
        value = line.get(name)
        return value if isinstance(value, str) and value else None

    quantity = line.get('quantity')
    return {
        'receipt_pk': pk,
        'card_id': card_id,
        'created_at': at,
        'sku': text('sku'),
        'category': text('category'),
        'size': text('size'),
        'quantity': quantity if isinstance(quantity, int) and quantity >= 0 else 1,
    }


def downgrade() -> None:
    with op.batch_alter_table('campaign_targets', schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f('uq_campaign_targets_campaign_id_card_id_occurrence'), type_='unique'
        )
        batch_op.create_unique_constraint(
            'uq_campaign_targets_campaign_id_card_id', ['campaign_id', 'card_id']
        )
        batch_op.drop_column('occurrence')
        batch_op.drop_column('targeted_at')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('size_category')
        batch_op.drop_column('offer_fallback_ru')
        batch_op.drop_column('offer_fallback_en')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('loyal_window_days')
        batch_op.drop_column('loyal_min_purchases')
    with op.batch_alter_table('receipt_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_receipt_lines_receipt_pk')
        batch_op.drop_index('ix_receipt_lines_card')
        batch_op.drop_index('ix_receipt_lines_sku')
        batch_op.drop_index('ix_receipt_lines_size')
        batch_op.drop_index('ix_receipt_lines_category')
    op.drop_table('receipt_lines')
