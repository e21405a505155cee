"""Wallet counts: passes per wallet app, members in a wallet, events per local day,
backfilled from the registrations, Google objects and events

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 18:00:00
"""

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLOTS = 8  # app.analytics.models.SLOTS when this was written
ANY_APP = "any"  # app.analytics.models.ANY_APP


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=op.f(f"fk_{table}_{column}_{target}"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "wallet_pass_apps",
        sa.Column("pass_id", sa.Integer(), nullable=False),
        sa.Column("wallet_app", sa.String(length=20), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        _fk("wallet_pass_apps", "pass_id", "wallet_passes"),
        sa.PrimaryKeyConstraint("pass_id", "wallet_app", name=op.f("pk_wallet_pass_apps")),
    )
    op.create_table(
        "wallet_members",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("places", sa.Integer(), nullable=False),
        _fk("wallet_members", "member_id", "members"),
        _fk("wallet_members", "program_id", "programs"),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_wallet_members")),
    )
    op.create_table(
        "wallet_counts",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("wallet_app", sa.String(length=20), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("cards", sa.Integer(), nullable=False),
        _fk("wallet_counts", "program_id", "programs"),
        sa.PrimaryKeyConstraint(
            "program_id", "wallet_app", "slot", name=op.f("pk_wallet_counts")
        ),
    )
    op.create_table(
        "wallet_event_days",
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("wallet_app", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        _fk("wallet_event_days", "program_id", "programs"),
        sa.PrimaryKeyConstraint(
            "program_id", "day", "wallet_app", "kind", "slot", name=op.f("pk_wallet_event_days")
        ),
    )
    _backfill_places()
    if op.get_bind().dialect.name == "postgresql":
        _backfill_event_days_in_sql()
    else:
        _backfill_event_days_by_zone()


def _backfill_places() -> None:
    """The devices of each pass per app (and its saved Google object), then members and
    the counts from those rows, as the writers keep them."""
    op.execute(
        """
        INSERT INTO wallet_pass_apps (pass_id, wallet_app, places)
        SELECT r.pass_id, d.wallet_app, COUNT(*)
        FROM apple_registrations r JOIN apple_devices d ON d.id = r.device_id
        GROUP BY r.pass_id, d.wallet_app
        UNION ALL
        SELECT pass_id, 'google_wallet', 1 FROM google_objects
        WHERE saved_at IS NOT NULL AND removed_at IS NULL
        """
    )
    op.execute(
        """
        INSERT INTO wallet_members (member_id, program_id, places)
        SELECT c.member_id, c.program_id, COUNT(*)
        FROM wallet_pass_apps a
        JOIN wallet_passes p ON p.id = a.pass_id JOIN cards c ON c.id = p.card_id
        GROUP BY c.member_id, c.program_id
        """
    )
    op.execute(
        f"""
        INSERT INTO wallet_counts (program_id, wallet_app, slot, cards)
        SELECT c.program_id, a.wallet_app, a.pass_id % {SLOTS}, COUNT(*)
        FROM wallet_pass_apps a
        JOIN wallet_passes p ON p.id = a.pass_id JOIN cards c ON c.id = p.card_id
        GROUP BY c.program_id, a.wallet_app, a.pass_id % {SLOTS}
        UNION ALL
        SELECT program_id, '{ANY_APP}', member_id % {SLOTS}, COUNT(*)
        FROM wallet_members GROUP BY program_id, member_id % {SLOTS}
        """
    )


_EVENTS = """
    FROM wallet_app_events e
    JOIN wallet_passes p ON p.id = e.pass_id
    JOIN cards c ON c.id = p.card_id
    JOIN programs g ON g.id = c.program_id
"""


def _backfill_event_days_in_sql() -> None:
    """Local day ordinal: the local date minus 0001-01-01, plus one."""
    day = "((e.at AT TIME ZONE g.timezone)::date - DATE '0001-01-01' + 1)"
    op.execute(
        f"""
        INSERT INTO wallet_event_days (program_id, day, wallet_app, kind, slot, events)
        SELECT c.program_id, {day}, e.wallet_app, e.kind, e.pass_id % {SLOTS}, COUNT(*)
        {_EVENTS}
        GROUP BY c.program_id, {day}, e.wallet_app, e.kind, e.pass_id % {SLOTS}
        """
    )


def _backfill_event_days_by_zone() -> None:
    """SQLite has no time zones: the local days in Python (zoneinfo), one pass over the
    events of passes (an embedded database's history is small)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            f"SELECT c.program_id, g.timezone, e.at, e.wallet_app, e.kind, e.pass_id % {SLOTS}"
            f" {_EVENTS}"
        )
    )
    zones: dict[str, ZoneInfo] = {}
    days: Counter[tuple[int, int, str, str, int]] = Counter()
    for program_id, timezone, at, app, kind, slot in rows:
        zone = zones.setdefault(timezone, ZoneInfo(timezone))
        days[(program_id, _local_day(at, zone), app, kind, slot)] += 1
    values = [
        dict(zip(("program_id", "day", "wallet_app", "kind", "slot"), key, strict=True))
        | {"events": n}
        for key, n in sorted(days.items())
    ]
    table = sa.table(
        "wallet_event_days",
        *(sa.column(c) for c in ("program_id", "day", "wallet_app", "kind", "slot", "events")),
    )
    for i in range(0, len(values), 10_000):
        bind.execute(sa.insert(table), values[i : i + 10_000])


def _local_day(value: datetime | str, zone: ZoneInfo) -> int:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(zone).date().toordinal()


def downgrade() -> None:
    op.drop_table("wallet_event_days")
    op.drop_table("wallet_counts")
    op.drop_table("wallet_members")
    op.drop_table("wallet_pass_apps")
