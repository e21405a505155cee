"""KPI rollups: money paid per card visit (kpi_visits.due), backfilled from the receipts

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# A visit row's receipts are its card's at its store from its first purchase (first_at)
# up to the first purchase of the card's next visit to that store: no local day, and so
# no time zone, is needed (SQLite has none), and the sums are those of the rebuild.
BACKFILL = """
UPDATE kpi_visits SET due = paid.due
FROM (
    SELECT v.card_id, v.store_key, v.day, SUM(r.amount_due) AS due
    FROM (
        SELECT card_id, store_key, day, first_at,
               LEAD(first_at) OVER (PARTITION BY card_id, store_key ORDER BY day) AS next_at
        FROM kpi_visits
    ) AS v
    JOIN receipts AS r
      ON r.card_id = v.card_id
     AND COALESCE(r.store_id, 0) = v.store_key
     AND r.created_at >= v.first_at
     AND (v.next_at IS NULL OR r.created_at < v.next_at)
    GROUP BY v.card_id, v.store_key, v.day
) AS paid
WHERE kpi_visits.card_id = paid.card_id
  AND kpi_visits.store_key = paid.store_key
  AND kpi_visits.day = paid.day
"""


def upgrade() -> None:
    op.add_column(
        "kpi_visits", sa.Column("due", MONEY, nullable=False, server_default=sa.text("0"))
    )
    op.execute(BACKFILL)
    if op.get_bind().dialect.name == "postgresql":
        # SQLite cannot drop a default without copying the table; every writer sets it.
        op.alter_column("kpi_visits", "due", server_default=None)


def downgrade() -> None:
    op.drop_column("kpi_visits", "due")
