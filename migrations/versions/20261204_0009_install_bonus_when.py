"""install bonus when: pay it at the install (as before) or with the first purchase

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('install_bonus_when', sa.String(length=20), nullable=True))
    # Programs that exist keep paying at the install, as they promised their customers.
    op.execute("UPDATE programs SET install_bonus_when = 'on_install'")
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.alter_column(
            'install_bonus_when', existing_type=sa.String(length=20), nullable=False
        )
        batch_op.create_check_constraint(
            op.f('ck_programs_install_bonus_when_known'),
            "install_bonus_when IN ('on_install', 'on_first_purchase')",
        )


def downgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_programs_install_bonus_when_known'), type_='check')
        batch_op.drop_column('install_bonus_when')
