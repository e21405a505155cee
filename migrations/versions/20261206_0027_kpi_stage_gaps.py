"""KPI rollups: the program-wide visit rows per day, lifecycle stage of the card's member
and gap to the previous purchase day, with their purchases and money (kpi_stage_gaps),
backfilled from the visit rows and the members' stored stages

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GAP_CAP = 367  # app.analytics.models.GAP_CAP when this was written
MONEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Per card and purchase day (the gap is on the day's first row, the purchases and money
# on every store's row), then per day, stage and gap; members without a stage have none.
BACKFILL = f"""
INSERT INTO kpi_stage_gaps (program_id, day, stage, gap, buyers, receipts, due)
SELECT d.program_id, d.day, m.stage, d.gap, COUNT(*), SUM(d.receipts), SUM(d.due)
FROM (
    SELECT v.program_id, v.card_id, v.day,
        MAX(CASE WHEN v.day_first THEN
            CASE WHEN v.prev_day IS NULL OR v.day - v.prev_day > {GAP_CAP} THEN {GAP_CAP}
            ELSE v.day - v.prev_day END
        END) AS gap,
        SUM(v.n) AS receipts, SUM(v.due) AS due
    FROM kpi_visits AS v
    JOIN kpi_rollup_state AS s ON s.program_id = v.program_id
    GROUP BY v.program_id, v.card_id, v.day
) AS d
JOIN cards AS c ON c.id = d.card_id
JOIN members AS m ON m.id = c.member_id
WHERE m.stage IS NOT NULL
GROUP BY d.program_id, d.day, m.stage, d.gap
"""


def upgrade() -> None:
    op.create_table(
        "kpi_stage_gaps",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("gap", sa.Integer(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("receipts", sa.Integer(), nullable=False),
        sa.Column("due", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_kpi_stage_gaps_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "program_id", "day", "stage", "gap", name=op.f("pk_kpi_stage_gaps")
        ),
    )
    _backfill()


def _backfill() -> None:
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("kpi_stage_gaps")
