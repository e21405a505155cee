"""daily KPI rollups: receipts and money per day and store, card visits per day and store

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")



def upgrade() -> None:
    op.create_table(
        "kpi_rollup_state",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_kpi_rollup_state_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_kpi_rollup_state")),
    )
    op.create_table(
        "kpi_days",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("store_key", sa.Integer(), nullable=False),
        sa.Column("with_card", sa.Boolean(), nullable=False),
        sa.Column("receipts", sa.Integer(), nullable=False),
        sa.Column("due", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_kpi_days_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "program_id", "day", "store_key", "with_card", name=op.f("pk_kpi_days")
        ),
    )
    op.create_table(
        "kpi_visits",
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("store_key", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("prev_store_day", sa.Integer(), nullable=True),
        sa.Column("prev2_store_day", sa.Integer(), nullable=True),
        sa.Column("prev_store_n", sa.Integer(), nullable=True),
        sa.Column("day_first", sa.Boolean(), nullable=False),
        sa.Column("day_n", sa.Integer(), nullable=False),
        sa.Column("prev_day", sa.Integer(), nullable=True),
        sa.Column("prev2_day", sa.Integer(), nullable=True),
        sa.Column("prev_day_n", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["cards.id"],
            name=op.f("fk_kpi_visits_card_id_cards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_kpi_visits_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("card_id", "store_key", "day", name=op.f("pk_kpi_visits")),
    )
    op.create_index("ix_kpi_visits_program_day", "kpi_visits", ["program_id", "day"])
    op.create_index("ix_kpi_visits_card_day", "kpi_visits", ["card_id", "day"])


def downgrade() -> None:
    op.drop_table("kpi_visits")
    op.drop_table("kpi_days")
    op.drop_table("kpi_rollup_state")
