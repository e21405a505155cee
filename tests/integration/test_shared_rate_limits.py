"""One rate limit for every process: two real web processes share it (SQLite file,
PostgreSQL or Redis), windows slide, and counters of idle clients are forgotten."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.engine import Engine

from app.bootstrap import build_services, upgrade_database
from app.clock import FixedClock
from app.db import make_engine
from app.passes.apple.certs import DevChain
from app.ratelimits.limiter import RateLimiter
from app.ratelimits.models import RateLimitCounter
from app.ratelimits.stores import PURGE_BATCH, PURGE_EVERY, DatabaseStore, LimitStore, RedisStore
from app.services.programs import seed_demo
from app.settings import RateLimit, Settings
from tests.helpers import PASS_TYPE_ID, START, TEAM_ID

ROOT = Path(__file__).resolve().parents[2]


def needs(variable: str) -> str:
    """A real component's URL; without it the test skips, or fails in CI."""
    value = os.environ.get(variable)
    if not value:
        reason = f"{variable} is not set (no server for this test)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return value


@pytest.fixture
def postgres_database() -> Iterator[str]:
    base = needs("WALLETPASS_TEST_DATABASE_URL")
    name = f"walletpass_rl_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# A web process of its own: the app from the environment, then enrollments as fast as
# it can once the parent says go; prints the statuses and Retry-After values.
CHILD = """
import json, os, sys, time
from pathlib import Path
from app.web import create_app
client = create_app().test_client()
go = Path(sys.argv[1])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
out = []
for i in range(int(sys.argv[3])):
    r = client.post("/api/v1/programs/demo/enrollments",
                    json={"name": "Two Proc", "phone": f"+7 901 {sys.argv[2]}{i:02d}-00-00",
                          "consent": True})
    out.append([r.status_code, r.headers.get("Retry-After")])
print(json.dumps(out), flush=True)
"""


def two_processes_enroll(env: dict[str, str], tmp: Path, each: int) -> list[list[Any]]:
    go = tmp / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(go), str(n), str(each)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr.read()  # type: ignore[union-attr]
        go.touch()
        answers = []
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            answers.extend(json.loads(out.strip().splitlines()[-1]))
        return answers
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgres", "redis"])
def test_two_web_processes_share_one_enrollment_limit(
    backend: str, tmp_path: Path, dev_chain: DevChain, request: pytest.FixtureRequest
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WALLETPASS_ENV": "test",
        "WALLETPASS_INSTANCE_DIR": str(tmp_path / "instance"),
        "WALLETPASS_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "WALLETPASS_PUBLIC_URL": "https://wallet.example.test",
        "WALLETPASS_SECRET_KEY": f"two-processes-{uuid.uuid4().hex}-secret",
        "WALLETPASS_DEV_CERTS_DIR": str(dev_chain.root_cert.parent),
        "WALLETPASS_APPLE_PASS_TYPE_ID": PASS_TYPE_ID,
        "WALLETPASS_APPLE_TEAM_ID": TEAM_ID,
        "WALLETPASS_QUEUE_URL": "memory://",
        "WALLETPASS_ENROLL_RATE_LIMIT": "12/hour",
    }
    if backend == "postgres":
        env["WALLETPASS_DATABASE_URL"] = request.getfixturevalue("postgres_database")
    if backend == "redis":
        env["WALLETPASS_RATE_LIMIT_URL"] = needs("WALLETPASS_TEST_REDIS_URL")
    settings = Settings.from_env(env)
    upgrade_database(settings.database_url)
    services = build_services(settings)
    with services.transaction() as session:
        seed_demo(session, services.clock)
    services.close()

    answers = two_processes_enroll(env, tmp_path, each=15)

    statuses = [status for status, _ in answers]
    # Each process alone would have allowed 12: together they allow 12, not 24.
    assert statuses.count(201) == 12, statuses
    assert statuses.count(429) == 18, statuses
    assert all(int(wait) >= 1 for status, wait in answers if status == 429)


@pytest.fixture
def limits_engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'limits.db'}"
    upgrade_database(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["database", "redis"])
def store(request: pytest.FixtureRequest, limits_engine: Engine) -> Iterator[LimitStore]:
    if request.param == "database":
        yield DatabaseStore(limits_engine)
        return
    import redis

    client = redis.Redis.from_url(needs("WALLETPASS_TEST_REDIS_URL"))
    prefix = f"walletpass-test:{uuid.uuid4().hex}"
    yield RedisStore(client, prefix=prefix)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


def test_the_window_slides_instead_of_resetting(store: LimitStore) -> None:
    clock = FixedClock(START.replace(minute=0, second=0))
    limiter = RateLimiter(store, clock, "s" * 40)
    limit = RateLimit(10, 60)
    assert [limiter.hit("b", "client", limit) for _ in range(10)] == [None] * 10
    wait = limiter.hit("b", "client", limit)
    assert wait is not None and 60 <= wait <= 61  # the window holds 10 since its start
    # Half-way into the next window, half of the previous window's hits still count.
    clock.advance(seconds=90)
    allowed = [limiter.hit("b", "client", limit) is None for _ in range(10)]
    assert allowed == [True] * 5 + [False] * 5
    assert limiter.hit("b", "someone else", limit) is None


def test_counters_of_idle_clients_are_deleted(limits_engine: Engine) -> None:
    clock = FixedClock(START)
    limiter = RateLimiter(DatabaseStore(limits_engine), clock, "s" * 40)
    limit = RateLimit(5, 60)

    def rows() -> int:
        with limits_engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(RateLimitCounter)) or 0)

    n = PURGE_BATCH + 1500
    for i in range(n):
        limiter.hit("enroll", f"198.51.{i // 256}.{i % 256}", limit)
    assert rows() == n
    # Two windows later none of them counts any more; the next hit sweeps a batch away.
    clock.advance(seconds=2 * 60 + PURGE_EVERY)
    started = time.perf_counter()
    assert limiter.hit("enroll", "203.0.113.1", limit) is None
    assert time.perf_counter() - started < 1.0
    assert rows() == n - PURGE_BATCH + 1
    # The worker's hourly job removes every stale one, batch by batch.
    clock.advance(minutes=3)
    assert limiter.purge() == 1500 + 1
    assert rows() == 0


def test_redis_counters_expire_by_themselves() -> None:
    import redis

    client = redis.Redis.from_url(needs("WALLETPASS_TEST_REDIS_URL"))
    prefix = f"walletpass-test:{uuid.uuid4().hex}"
    try:
        limiter = RateLimiter(RedisStore(client, prefix=prefix), FixedClock(START), "s" * 40)
        for i in range(50):
            limiter.hit("enroll", f"198.51.100.{i}", RateLimit(5, 60))
        keys = list(client.scan_iter(f"{prefix}:*"))
        assert len(keys) == 50
        assert all(0 < client.ttl(key) <= 120 for key in keys)
        assert not any(b"198.51" in key for key in keys)
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()


def test_a_postgres_limit_holds_under_concurrent_hits(postgres_database: str) -> None:
    """Threads on separate connections race for the last places; exactly the limit wins."""
    from concurrent.futures import ThreadPoolExecutor

    upgrade_database(postgres_database)
    engine = make_engine(postgres_database, pool_size=8)
    try:
        limiter = RateLimiter(DatabaseStore(engine), FixedClock(START), "s" * 40)
        with ThreadPoolExecutor(8) as pool:
            results = list(
                pool.map(lambda _: limiter.hit("pos", "7", RateLimit(50, 60)), range(200))
            )
        assert results.count(None) == 50
    finally:
        engine.dispose()
