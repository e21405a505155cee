"""privacy: consent source and text version, erased members, install-bonus claims by phone hash

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-12 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_source", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("consent_text", sa.String(length=40), nullable=True))
        batch_op.add_column(
            sa.Column("erased_at", app.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cards_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_cards_status_known"), "status IN ('active', 'blocked', 'erased')"
        )
    op.create_table(
        "install_bonus_claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column("claimed_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["cards.id"],
            name=op.f("fk_install_bonus_claims_card_id_cards"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_install_bonus_claims_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_install_bonus_claims")),
        sa.UniqueConstraint(
            "program_id", "phone_hash", name=op.f("uq_install_bonus_claims_program_id_phone_hash")
        ),
    )


def downgrade() -> None:
    op.drop_table("install_bonus_claims")
    op.execute("UPDATE cards SET status = 'blocked' WHERE status = 'erased'")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cards_status_known"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_cards_status_known"), "status IN ('active', 'blocked')"
        )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
        batch_op.drop_column("consent_text")
        batch_op.drop_column("consent_source")
