"""staff: session version, program and store membership, pending point adjustments

Existing marketers and store managers are given every existing program, so an upgrade
changes nobody's access; new accounts get exactly the programs they are added to.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('staff_users', schema=None, recreate='never') as batch_op:
        batch_op.add_column(
            sa.Column('session_version', sa.Integer(), server_default='1', nullable=False)
        )
    op.create_table(
        'staff_programs',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('program_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['program_id'],
            ['programs.id'],
            name=op.f('fk_staff_programs_program_id_programs'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['staff_users.id'],
            name=op.f('fk_staff_programs_user_id_staff_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('user_id', 'program_id', name=op.f('pk_staff_programs')),
    )
    with op.batch_alter_table('staff_programs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_programs_program_id'), ['program_id'])
    op.create_table(
        'staff_stores',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['store_id'],
            ['stores.id'],
            name=op.f('fk_staff_stores_store_id_stores'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'],
            ['staff_users.id'],
            name=op.f('fk_staff_stores_user_id_staff_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('user_id', 'store_id', name=op.f('pk_staff_stores')),
    )
    with op.batch_alter_table('staff_stores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_stores_store_id'), ['store_id'])
    op.create_table(
        'pending_adjustments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('program_id', sa.Integer(), nullable=False),
        sa.Column('card_id', sa.Integer(), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('requested_by', sa.String(length=254), nullable=False),
        sa.Column('requested_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'rejected')",
            name=op.f('ck_pending_adjustments_status_known'),
        ),
        sa.ForeignKeyConstraint(
            ['card_id'],
            ['cards.id'],
            name=op.f('fk_pending_adjustments_card_id_cards'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['decided_by_id'],
            ['staff_users.id'],
            name=op.f('fk_pending_adjustments_decided_by_id_staff_users'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['program_id'],
            ['programs.id'],
            name=op.f('fk_pending_adjustments_program_id_programs'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['requested_by_id'],
            ['staff_users.id'],
            name=op.f('fk_pending_adjustments_requested_by_id_staff_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_adjustments')),
    )
    with op.batch_alter_table('pending_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_adjustments_program_id'), ['program_id'])
    op.execute(
        "INSERT INTO staff_programs (user_id, program_id) "
        "SELECT staff_users.id, programs.id FROM staff_users CROSS JOIN programs "
        "WHERE staff_users.role <> 'admin'"
    )


def downgrade() -> None:
    op.drop_table('pending_adjustments')
    op.drop_table('staff_stores')
    op.drop_table('staff_programs')
    with op.batch_alter_table('staff_users', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('session_version')
