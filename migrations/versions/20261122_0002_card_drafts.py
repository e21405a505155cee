"""card drafts: texts and images edited in the console wait here until published

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 15:40:19.681010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('program_image_drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('png', sa.LargeBinary(), nullable=True),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_program_image_drafts_program_id_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_program_image_drafts')),
    sa.UniqueConstraint('program_id', 'name', name=op.f('uq_program_image_drafts_program_id_name'))
    )
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_texts_draft', sa.JSON(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('card_texts_draft')

    op.drop_table('program_image_drafts')
