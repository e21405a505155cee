"""KPI rollups: program-wide visit rows per day and gap, cohort purchases per enrolment
day; members indexed by enrolment instant

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 16:00:00
"""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GAP_CAP = 367  # app.analytics.models.GAP_CAP when this was written


def _programs(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["program_id"],
        ["programs.id"],
        name=op.f(f"fk_{name}_program_id_programs"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "kpi_buyer_gaps",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("gap", sa.Integer(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("multi", sa.Integer(), nullable=False),
        sa.Column("second_from", sa.Integer(), nullable=False),
        sa.Column("second_to", sa.Integer(), nullable=False),
        _programs("kpi_buyer_gaps"),
        sa.PrimaryKeyConstraint("program_id", "day", "gap", name=op.f("pk_kpi_buyer_gaps")),
    )
    op.create_table(
        "kpi_cohort_days",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("enrol_day", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("firsts", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Integer(), nullable=False),
        _programs("kpi_cohort_days"),
        sa.PrimaryKeyConstraint(
            "program_id", "enrol_day", "day", name=op.f("pk_kpi_cohort_days")
        ),
    )
    with op.batch_alter_table("members") as batch_op:
        batch_op.create_index("ix_members_program_created", ["program_id", "created_at"])
    _backfill_gaps()
    _backfill_cohorts()


def _backfill_gaps() -> None:
    """From the visit rows already there (what the till and the rebuild now write)."""
    gap = "CASE WHEN {p} IS NULL OR day - {p} > {cap} THEN {cap} ELSE day - {p} END"
    first, second = gap.format(p="prev_day", cap=GAP_CAP), gap.format(p="prev2_day", cap=GAP_CAP)
    op.execute(
        f"""
        INSERT INTO kpi_buyer_gaps
            (program_id, day, gap, buyers, multi, second_from, second_to)
        SELECT program_id, day, gap, SUM(buyers), SUM(multi), SUM(second_from), SUM(second_to)
        FROM (
            SELECT program_id, day, {first} AS gap, 1 AS buyers,
                CASE WHEN day_n >= 2 THEN 1 ELSE 0 END AS multi,
                CASE WHEN prev_day_n = 1 THEN 1 ELSE 0 END AS second_from, 0 AS second_to
            FROM kpi_visits WHERE day_first
            UNION ALL
            SELECT program_id, day, {second}, 0, 0, 0, 1
            FROM kpi_visits WHERE day_first AND prev_day_n = 1
        ) AS visit_gaps
        GROUP BY program_id, day, gap
        """
    )


def _backfill_cohorts() -> None:
    """From the cards' first and second purchases and their members' enrolment, in the
    program's local days (zoneinfo: SQLite has no time zones)."""
    bind = op.get_bind()
    programs = sa.table("programs", sa.column("id", sa.Integer), sa.column("timezone", sa.String))
    members = sa.table(
        "members", sa.column("id", sa.Integer), sa.column("created_at", sa.DateTime())
    )
    cards = sa.table("cards", sa.column("id", sa.Integer), sa.column("member_id", sa.Integer))
    kpi_cards = sa.table(
        "kpi_cards",
        sa.column("card_id", sa.Integer),
        sa.column("program_id", sa.Integer),
        sa.column("first_at", sa.DateTime()),
        sa.column("second_at", sa.DateTime()),
    )
    target = sa.table(
        "kpi_cohort_days",
        *(sa.column(c, sa.Integer) for c in ("program_id", "enrol_day", "day", "firsts", "seconds")),
    )
    for program_id, timezone in bind.execute(sa.select(programs.c.id, programs.c.timezone)).all():
        zone = ZoneInfo(timezone)

        def day(at: datetime) -> int:
            at = at if at.tzinfo else at.replace(tzinfo=UTC)
            return at.astimezone(zone).date().toordinal()

        firsts: Counter[tuple[int, int]] = Counter()
        seconds: Counter[tuple[int, int]] = Counter()
        rows = bind.execute(
            sa.select(members.c.created_at, kpi_cards.c.first_at, kpi_cards.c.second_at)
            .select_from(kpi_cards)
            .join(cards, cards.c.id == kpi_cards.c.card_id)
            .join(members, members.c.id == cards.c.member_id)
            .where(kpi_cards.c.program_id == program_id)
        )
        for enrolled, first_at, second_at in rows:
            enrol_day = day(enrolled)
            firsts[(enrol_day, day(first_at))] += 1
            if second_at is not None:
                seconds[(enrol_day, day(second_at))] += 1
        values = [
            {
                "program_id": program_id,
                "enrol_day": key[0],
                "day": key[1],
                "firsts": firsts[key],
                "seconds": seconds[key],
            }
            for key in sorted(firsts.keys() | seconds.keys())
        ]
        for i in range(0, len(values), 10_000):
            bind.execute(sa.insert(target), values[i : i + 10_000])


def downgrade() -> None:
    with op.batch_alter_table("members") as batch_op:
        batch_op.drop_index("ix_members_program_created")
    op.drop_table("kpi_cohort_days")
    op.drop_table("kpi_buyer_gaps")
