"""The bulk simulator on PostgreSQL builds indexes and foreign keys after loading empty
tables: the schema afterwards is the migrated one, the data the same as loaded with
them in place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.clock import FixedClock
from app.passes.apple.certs import DevChain
from app.services.programs import seed_demo
from app.simulate import bulk, model
from tests.conftest import fresh_postgres_services
from tests.helpers import START, fixed_clock

SMALL = model.Spec(seed=5, members=500, receipts=5_000, stores=7, days=90, end=START, campaigns=2)


@pytest.fixture
def reference(test_root: Path, dev_chain: DevChain, clock: FixedClock) -> Iterator[Services]:
    """A second fresh, migrated PostgreSQL database (next to pg_services' one)."""
    with fresh_postgres_services(test_root, clock) as services:
        yield services


def _catalog(session: Session) -> tuple[list[Any], list[Any]]:
    indexes = session.execute(
        text(
            "SELECT tablename, indexname, indexdef FROM pg_indexes "
            "WHERE schemaname = 'public' ORDER BY tablename, indexname"
        )
    ).all()
    constraints = session.execute(
        text(
            "SELECT c.conrelid::regclass::text AS t, c.conname, c.contype, "
            "pg_get_constraintdef(c.oid), c.convalidated, c.condeferrable, c.condeferred "
            "FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
            "WHERE n.nspname = 'public' ORDER BY t, c.conname"
        )
    ).all()
    return indexes, constraints


def _contents(session: Session) -> dict[str, tuple[int, str]]:
    out = {}
    for table in bulk.TABLES:
        count, digest = session.execute(
            text(f"SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t")  # noqa: S608
        ).one()
        out[table] = (count, digest)
    return out


def _analyzed(session: Session) -> set[str]:
    return set(
        session.scalars(
            text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL")
        )
    )


def _simulate(services: Services, spec: model.Spec, *, defer_keys: bool) -> None:
    fixed_clock(services).set(START)
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        bulk.simulate(session, services.clock, program, spec, defer_keys=defer_keys)


def test_a_bulk_load_leaves_the_migrated_schema_and_the_same_data(
    pg_services: Services, reference: Services
) -> None:
    with pg_services.transaction(write=False) as session:
        migrated = _catalog(session)
    assert len(migrated[0]) > 50 and len(migrated[1]) > 100

    _simulate(pg_services, SMALL, defer_keys=True)
    _simulate(reference, SMALL, defer_keys=False)
    with pg_services.transaction(write=False) as session:
        assert _catalog(session) == migrated
        assert set(bulk.TABLES) <= _analyzed(session)  # the keys were built after the load
        loaded = _contents(session)
    with reference.transaction(write=False) as session:
        assert _contents(session) == loaded
        assert not set(bulk.TABLES) & _analyzed(session)
    assert loaded["members"][0] == 500 and loaded["receipts"][0] >= 5_000

    # Tables with rows keep their keys while a second chain is added.
    _simulate(
        pg_services,
        model.Spec(seed=6, members=50, receipts=300, stores=2, end=START),
        defer_keys=True,
    )
    with pg_services.transaction(write=False) as session:
        assert _catalog(session) == migrated
        assert _contents(session)["members"][0] == 550
