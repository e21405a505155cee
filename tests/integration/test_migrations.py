"""The schema comes only from migrations: one head, and it matches the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.exc import DBAPIError

from app.bootstrap import Services, alembic_config, upgrade_database
from app.db import make_engine
from app.schema import metadata
from tests.helpers import postgres_url


def assert_matches_models(url: str) -> None:
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == [], f"migrations and models differ: {diff}"


def test_there_is_a_single_head(tmp_path: Path) -> None:
    heads = ScriptDirectory.from_config(alembic_config(f"sqlite:///{tmp_path}/x.db")).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"


def test_upgrading_an_empty_sqlite_database_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade_database(url)
    assert_matches_models(url)
    upgrade_database(url)  # running it again is harmless


@pytest.fixture
def empty_postgres_database() -> Iterator[str]:
    base = postgres_url()
    name = f"walletpass_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_upgrading_an_empty_postgres_database_matches_the_models(
    empty_postgres_database: str,
) -> None:
    upgrade_database(empty_postgres_database)
    assert_matches_models(empty_postgres_database)


def test_0023_backfills_the_money_paid_per_card_visit(real_services: Services) -> None:
    """Rollups kept by the till before 0023 get kpi_visits.due from the receipts: the
    downgrade drops the column, the upgrade writes what the till had kept, row for row,
    on SQLite and PostgreSQL (local days of a program east of UTC included)."""
    from alembic import command

    from app.analytics.models import KpiVisit
    from app.services.programs import seed_demo
    from tests.integration.test_rollups import shop

    services, url = real_services, real_services.settings.database_url
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        shop(session, services, program)
    read = text("SELECT card_id, store_key, day, due FROM kpi_visits ORDER BY 1, 2, 3")
    with services.transaction() as session:
        kept = session.execute(read).all()
        visits = session.scalars(select(KpiVisit)).all()
        assert len(kept) > 80 and any(v.n > 1 for v in visits)
        # Bought after the local midnight, before the UTC one: the local day is the next.
        assert any(v.first_at.date().toordinal() != v.day for v in visits)
    command.downgrade(alembic_config(url), "0022")
    with services.transaction(write=False) as session, pytest.raises(DBAPIError):
        session.execute(read)
    upgrade_database(url)
    with services.transaction() as session:
        assert session.execute(read).all() == kept
    assert_matches_models(url)


def test_0025_backfills_the_loyal_rows(real_services: Services) -> None:
    """Rollups kept by the till before 0025 get the loyal rows (counts and money), each
    visit's kth_day and the rule: the downgrade drops them, the upgrade writes what the
    till had kept, row for row, on SQLite and PostgreSQL."""
    from alembic import command

    from app.services.programs import seed_demo
    from tests.integration.test_rollups import shop

    services, url = real_services, real_services.settings.database_url
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        program.loyal_min_purchases, program.loyal_window_days = 3, 20  # spans that end
        shop(session, services, program)
    reads = [
        text("SELECT card_id, store_key, day, kth_day FROM kpi_visits ORDER BY 1, 2, 3"),
        text("SELECT program_id, day, delta FROM kpi_loyal_days WHERE delta <> 0 ORDER BY 1, 2"),
        text("SELECT loyal_min_purchases, loyal_window_days FROM kpi_rollup_state"),
        text(
            "SELECT program_id, day, at_day, due FROM kpi_loyal_paid"
            " WHERE due <> 0 ORDER BY 1, 2, 3"
        ),
    ]
    with services.transaction() as session:
        kept = [session.execute(read).all() for read in reads]
        assert sum(row[3] is not None for row in kept[0]) > 20
        assert len(kept[1]) > 20 and kept[2] == [(3, 20)] and len(kept[3]) > 50
    command.downgrade(alembic_config(url), "0024")
    with services.transaction(write=False) as session, pytest.raises(DBAPIError):
        session.execute(reads[1])
    upgrade_database(url)
    with services.transaction() as session:
        assert [session.execute(read).all() for read in reads] == kept
    assert_matches_models(url)


def test_0026_backfills_the_wallet_counts(real_services: Services) -> None:
    """Counts kept through the services before 0026 are what its backfill writes from
    the registrations, Google objects and events, on SQLite and PostgreSQL (events
    after the local midnight, before the UTC one, included)."""
    from alembic import command

    from tests.integration.test_wallet_counts import history, kept_rows

    services, url = real_services, real_services.settings.database_url
    history(services)
    with services.transaction(write=False) as session:
        kept = kept_rows(session)
        assert kept["passes"] and kept["members"] and len(kept["days"]) > 5
    below = ScriptDirectory.from_config(alembic_config(url)).get_revision("0026").down_revision
    assert isinstance(below, str)
    command.downgrade(alembic_config(url), below)
    with services.transaction(write=False) as session, pytest.raises(DBAPIError):
        session.execute(text("SELECT 1 FROM wallet_counts"))
    upgrade_database(url)
    with services.transaction(write=False) as session:
        assert kept_rows(session) == kept
    assert_matches_models(url)


def test_0027_backfills_the_stage_gaps(real_services: Services) -> None:
    """Per-stage gap rows kept by the till and moved by the daily job before 0027 are
    what its backfill writes from the visit rows and the members' stages, and what the
    rebuild writes, on SQLite and PostgreSQL."""
    from alembic import command

    from app.analytics.rebuild import rebuild
    from app.loyalty.models import Program
    from app.services.programs import seed_demo
    from tests.integration.test_rollups import shop

    services, url = real_services, real_services.settings.database_url
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        shop(session, services, program)
    read = text(
        "SELECT program_id, day, stage, gap, buyers, receipts, due FROM kpi_stage_gaps"
        " ORDER BY 1, 2, 3, 4"
    )
    with services.transaction() as session:
        kept = session.execute(read).all()
        assert len(kept) > 50 and len({row[2] for row in kept}) >= 2
    command.downgrade(alembic_config(url), "0026")
    with services.transaction(write=False) as session, pytest.raises(DBAPIError):
        session.execute(read)
    upgrade_database(url)
    with services.transaction() as session:
        assert session.execute(read).all() == kept
        found = session.get(Program, program.id)
        assert found is not None
        rebuild(session, found, services.clock.now())
        assert session.execute(read).all() == kept
    assert_matches_models(url)
