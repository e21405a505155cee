"""KPI rollups: loyal cards per midnight as day deltas (kpi_loyal_days), their money per
purchase day (kpi_loyal_paid), the day of each card's k-th most recent purchase per
purchase day (kpi_visits.kth_day) and the loyal rule they were written with
(kpi_rollup_state)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each day row counted once per purchase (numbers up to the day's purchases): the day of
# the purchase k - 1 before a day's last is the day of its k-th most recent purchase.
KTH_DAYS = """
WITH RECURSIVE numbers (i) AS (
    SELECT 1
    UNION ALL
    SELECT i + 1 FROM numbers
    WHERE i < (SELECT MAX(day_n) FROM kpi_visits WHERE program_id = {program} AND day_first)
),
purchases AS (
    SELECT v.card_id, v.day, numbers.i, v.day_n,
           LAG(v.day, {back}) OVER (PARTITION BY v.card_id ORDER BY v.day, numbers.i) AS kth
    FROM kpi_visits AS v JOIN numbers ON numbers.i <= v.day_n
    WHERE v.program_id = {program} AND v.day_first
)
UPDATE kpi_visits SET kth_day = purchases.kth
FROM purchases
WHERE purchases.i = purchases.day_n
  AND purchases.kth IS NOT NULL
  AND kpi_visits.card_id = purchases.card_id
  AND kpi_visits.day = purchases.day
  AND kpi_visits.day_first
"""

# After a purchase day the card is loyal at the midnights [day + 1, min(next day,
# kth_day + W)]: +1 on the first, -1 the day after the last (app.analytics.loyal_days).
LOYAL_DAYS = """
INSERT INTO kpi_loyal_days (program_id, day, delta)
SELECT {program}, day, SUM(delta)
FROM (
    SELECT day + 1 AS day, 1 AS delta FROM spans
    UNION ALL
    SELECT last + 1, -1 FROM spans
) AS ends
GROUP BY day
HAVING SUM(delta) <> 0
"""

SPANS = """
WITH spans AS (
    SELECT day,
           CASE WHEN next_day < kth_day + {window} THEN next_day
                ELSE kth_day + {window} END AS last
    FROM (
        SELECT day, kth_day,
               LEAD(day) OVER (PARTITION BY card_id ORDER BY day) AS next_day
        FROM kpi_visits
        WHERE program_id = {program} AND day_first AND kth_day IS NOT NULL
    ) AS days
    WHERE kth_day + {window} > day
)
"""


# Each purchase day's money (all stores) at the first and after the last midnight of
# each loyal span of its card from that day on, within the horizon: the loyal revenue
# of days [S, E) sums the rows of S <= day < E up to at_day E (app.analytics.loyal_days).
PAID = """
WITH days AS (
    SELECT card_id, day, SUM(due) AS due, MAX(kth_day) AS kth
    FROM kpi_visits
    WHERE program_id = {program}
    GROUP BY card_id, day
),
spans AS (
    SELECT card_id, day,
           CASE WHEN next_day < kth + {window} THEN next_day ELSE kth + {window} END AS last
    FROM (
        SELECT card_id, day, kth,
               LEAD(day) OVER (PARTITION BY card_id ORDER BY day) AS next_day
        FROM days
    ) AS ranked
    WHERE kth + {window} > day
),
ends AS (
    SELECT i.day, j.day + 1 AS at_day, i.due
    FROM days AS i
    JOIN spans AS j ON j.card_id = i.card_id AND j.day >= i.day AND j.day < i.day + {horizon}
    UNION ALL
    SELECT i.day, j.last + 1, -i.due
    FROM days AS i
    JOIN spans AS j ON j.card_id = i.card_id AND j.day >= i.day AND j.day < i.day + {horizon}
    WHERE j.last + 1 <= i.day + {horizon}
)
INSERT INTO kpi_loyal_paid (program_id, day, at_day, due)
SELECT {program}, day, at_day, SUM(due)
FROM ends
GROUP BY day, at_day
HAVING SUM(due) <> 0
"""

LOYAL_HORIZON = 366  # app.analytics.models.LOYAL_HORIZON when this was written
MONEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("kpi_visits", sa.Column("kth_day", sa.Integer(), nullable=True))
    op.add_column(
        "kpi_rollup_state", sa.Column("loyal_min_purchases", sa.Integer(), nullable=True)
    )
    op.add_column("kpi_rollup_state", sa.Column("loyal_window_days", sa.Integer(), nullable=True))
    op.create_table(
        "kpi_loyal_days",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_kpi_loyal_days_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("program_id", "day", name=op.f("pk_kpi_loyal_days")),
    )
    op.create_table(
        "kpi_loyal_paid",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("at_day", sa.Integer(), nullable=False),
        sa.Column("due", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["programs.id"],
            name=op.f("fk_kpi_loyal_paid_program_id_programs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("program_id", "day", "at_day", name=op.f("pk_kpi_loyal_paid")),
    )
    _backfill()


def _backfill() -> None:
    """For each program with rollups, with its rule of now, from its visit rows."""
    bind = op.get_bind()
    rules = bind.execute(
        sa.text(
            "SELECT p.id, p.loyal_min_purchases, p.loyal_window_days FROM programs AS p"
            " JOIN kpi_rollup_state AS s ON s.program_id = p.id ORDER BY p.id"
        )
    ).all()
    for program, k, window in rules:
        # Whole numbers from the database, written into the SQL (LAG wants a constant).
        names = {"program": int(program), "back": int(k) - 1, "window": int(window)}
        bind.execute(sa.text(KTH_DAYS.format(**names)))
        bind.execute(sa.text((SPANS + LOYAL_DAYS).format(**names)))
        bind.execute(sa.text(PAID.format(**names, horizon=LOYAL_HORIZON)))
        bind.execute(
            sa.text(
                "UPDATE kpi_rollup_state SET loyal_min_purchases = :k, loyal_window_days = :w"
                " WHERE program_id = :p"
            ),
            {"k": int(k), "w": int(window), "p": int(program)},
        )


def downgrade() -> None:
    op.drop_table("kpi_loyal_paid")
    op.drop_table("kpi_loyal_days")
    with op.batch_alter_table("kpi_rollup_state") as batch_op:
        batch_op.drop_column("loyal_window_days")
        batch_op.drop_column("loyal_min_purchases")
    with op.batch_alter_table("kpi_visits") as batch_op:
        batch_op.drop_column("kth_day")
