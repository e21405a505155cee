"""Shared fixtures: a migrated SQLite database, test certificates, services, the app.

Every test runs inside a transaction that is rolled back afterwards; the code under
test commits savepoints inside it, so commit paths run for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.bootstrap import Services, build_services, upgrade_database, watch_changes
from app.clock import FixedClock
from app.db import make_engine
from app.loyalty.models import Program
from app.passes.apple.certs import DevChain, generate_dev_chain
from app.ratelimits.limiter import RateLimiter
from app.ratelimits.models import RateLimitCounter
from app.ratelimits.stores import DatabaseStore
from app.services import phone_keys
from app.services.programs import seed_demo
from app.settings import Settings
from tests.helpers import PASS_TYPE_ID, START, TEAM_ID, postgres_url


def make_settings(tmp: Path, **overrides: str) -> Settings:
    env = {
        "WALLETPASS_ENV": "test",
        "WALLETPASS_INSTANCE_DIR": str(tmp / "instance"),
        "WALLETPASS_DATABASE_URL": f"sqlite:///{tmp / 'test.db'}",
        "WALLETPASS_PUBLIC_URL": "https://wallet.example.test",
        "WALLETPASS_SECRET_KEY": "test-secret-key-" + "x" * 32,
        "WALLETPASS_DEV_CERTS_DIR": str(tmp / "certs"),
        "WALLETPASS_APPLE_PASS_TYPE_ID": PASS_TYPE_ID,
        "WALLETPASS_APPLE_TEAM_ID": TEAM_ID,
        "WALLETPASS_ENROLL_RATE_LIMIT": "1000/minute",
        "WALLETPASS_QUEUE_URL": "memory://",
    }
    env.update(overrides)
    return Settings.from_env(env)


@pytest.fixture(scope="session")
def test_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("walletpass")


@pytest.fixture(scope="session")
def dev_chain(test_root: Path) -> DevChain:
    # Dated from the real clock: openssl and TLS check validity against it, and a chain
    # dated from START would expire under the tests a year later.
    return generate_dev_chain(test_root / "certs", PASS_TYPE_ID, TEAM_ID, now=datetime.now(UTC))


@pytest.fixture(scope="session")
def settings(test_root: Path, dev_chain: DevChain) -> Settings:
    return make_settings(test_root)


@pytest.fixture(scope="session")
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture(scope="session")
def _services(settings: Settings, clock: FixedClock) -> Iterator[Services]:
    upgrade_database(settings.database_url)
    services = build_services(settings, clock=clock)
    yield services
    services.close()


@pytest.fixture(scope="session")
def _limits_engine(test_root: Path) -> Iterator[Engine]:
    """Rate-limit counters in a database file of their own: the limiter commits its own
    short transactions, which would wait on the test's open transaction in the main file."""
    engine = make_engine(f"sqlite:///{test_root / 'limits.db'}")
    RateLimitCounter.__table__.create(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def services(_services: Services, clock: FixedClock, _limits_engine: Engine) -> Iterator[Services]:
    """Services whose sessions all live inside one rolled-back transaction."""
    clock.set(START)
    with _limits_engine.begin() as conn:
        conn.execute(RateLimitCounter.__table__.delete())
    saved_limiter = _services.limiter
    _services.limiter = RateLimiter(
        DatabaseStore(_limits_engine), clock, _services.settings.secret_key
    )
    connection = _services.engine.connect()
    outer = connection.begin()
    maker = sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        info=phone_keys.session_info(_services.settings.secret_key),
    )
    watch_changes(maker, _services.queue)
    _services.queue.huey.flush()
    saved = (_services.read_sessions, _services.write_sessions)
    _services.read_sessions = _services.write_sessions = maker
    _services.lookup = lambda: nullcontext(connection)  # type: ignore[method-assign]
    try:
        yield _services
    finally:
        _services.read_sessions, _services.write_sessions = saved
        _services.limiter = saved_limiter
        del _services.lookup
        outer.rollback()
        connection.close()


@pytest.fixture
def session(services: Services) -> Iterator[Session]:
    s = services.write_sessions()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def demo(session: Session, services: Services) -> Program:
    program = seed_demo(session, services.clock)
    session.commit()
    return program


@pytest.fixture
def app(services: Services) -> Flask:
    from app.web import create_app

    return create_app(services=services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sqlite_services(tmp_path: Path, dev_chain: DevChain, clock: FixedClock) -> Iterator[Services]:
    """Services on a fresh SQLite file with their real sessions (BEGIN IMMEDIATE writers,
    one connection per thread): concurrency as `walletpass run` has it."""
    clock.set(START)
    settings = make_settings(tmp_path, WALLETPASS_DEV_CERTS_DIR=str(dev_chain.root_cert.parent))
    upgrade_database(settings.database_url)
    services = build_services(settings, clock=clock)
    try:
        yield services
    finally:
        services.close()


@pytest.fixture(params=["sqlite", "postgres"])
def real_services(request: pytest.FixtureRequest) -> Services:
    """Both databases through their real sessions (no savepoint wrapper)."""
    fixture = "sqlite_services" if request.param == "sqlite" else "pg_services"
    services: Services = request.getfixturevalue(fixture)
    return services


@contextmanager
def fresh_postgres_services(test_root: Path, clock: FixedClock) -> Iterator[Services]:
    """Services on a new, migrated PostgreSQL database, dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, make_url, text

    base = postgres_url()
    name = f"walletpass_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    services = None
    try:
        upgrade_database(url)
        services = build_services(
            make_settings(test_root, WALLETPASS_DATABASE_URL=url), clock=clock
        )
        yield services
    finally:
        if services is not None:
            services.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_services(test_root: Path, dev_chain: DevChain, clock: FixedClock) -> Iterator[Services]:
    """Services on a fresh, migrated PostgreSQL database of their own (real concurrency:
    every request gets its own connection, nothing is rolled back for them)."""
    clock.set(START)
    with fresh_postgres_services(test_root, clock) as services:
        yield services
