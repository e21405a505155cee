"""pass renderings: a pass signed ahead by the worker for the version it pushes, so the
fetch every phone makes after the push is one read; an index on every pass of a card
(queries without the live-pass condition scanned the whole table)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pass_renderings",
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("last_modified", sa.BigInteger(), nullable=False),
        sa.Column("signer", sa.String(length=64), nullable=False),
        sa.Column("image_set", sa.Text(), nullable=False),
        sa.Column("files", sa.LargeBinary(), nullable=False),
        sa.Column("rendered_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pass_id"],
            ["wallet_passes.id"],
            name=op.f("fk_pass_renderings_pass_id_wallet_passes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pass_id", name=op.f("pk_pass_renderings")),
    )
    with op.batch_alter_table("pass_renderings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pass_renderings_rendered_at"), ["rendered_at"], unique=False
        )
    with op.batch_alter_table("wallet_passes", schema=None) as batch_op:
        batch_op.create_index("ix_wallet_passes_card_id", ["card_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("wallet_passes", schema=None) as batch_op:
        batch_op.drop_index("ix_wallet_passes_card_id")
    with op.batch_alter_table("pass_renderings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pass_renderings_rendered_at"))
    op.drop_table("pass_renderings")
