"""Real `walletpass worker` processes: killed mid fan-out, and two sharing a Redis queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.bootstrap import Services, build_services, upgrade_database
from app.fakes.apns import FakeApns, running_fake_apns
from app.fakes.tls import make_server_cert
from app.passes.apple.certs import DevChain
from app.passes.models import WalletPass
from app.services.programs import seed_demo
from app.settings import Settings
from app.simulate.population import registered_passes
from tests.helpers import PASS_TYPE_ID, TEAM_ID, redis_url

pytestmark = pytest.mark.slow
N = 3000


def environment(
    tmp: Path, dev_chain: DevChain, fake: FakeApns, ca: Path, queue_url: str
) -> dict[str, str]:
    return {
        **os.environ,
        "WALLETPASS_ENV": "test",
        "WALLETPASS_INSTANCE_DIR": str(tmp / "instance"),
        "WALLETPASS_DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}",
        "WALLETPASS_QUEUE_URL": queue_url,
        "WALLETPASS_SECRET_KEY": "k" * 40,
        "WALLETPASS_DEV_CERTS_DIR": str(dev_chain.root_cert.parent),
        "WALLETPASS_APPLE_PASS_TYPE_ID": PASS_TYPE_ID,
        "WALLETPASS_APPLE_TEAM_ID": TEAM_ID,
        "WALLETPASS_APNS_URL": f"https://127.0.0.1:{fake.port}",
        "WALLETPASS_APNS_CA_FILE": str(ca),
        "WALLETPASS_SWEEP_AFTER_SECONDS": "0",
    }


def fan_out(env: dict[str, str], chunk: int | None = 1000) -> tuple[Services, list[str], list[int]]:
    """N registered passes, all owing an update (like a campaign's set-based change),
    delivery enqueued in chunks after the commit."""
    settings = Settings.from_env(env)
    upgrade_database(settings.database_url)
    services = build_services(settings)
    tokens = [f"{i:064x}" for i in range(N)]
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        passes = registered_passes(session, program, tokens, datetime.now(UTC), version=2)
    if chunk:
        services.queue.deliver(passes, chunk=chunk)
    return services, tokens, passes


def owed(services: Services) -> int:
    with services.transaction(write=False) as session:
        return int(
            session.scalar(
                select(func.count()).where(WalletPass.version > WalletPass.apns_delivered_version)
            )
            or 0
        )


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--threads", "3"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return False


@pytest.fixture
def fake(tmp_path: Path, dev_chain: DevChain) -> Iterator[tuple[FakeApns, Path]]:
    server = make_server_cert(tmp_path / "fake")
    with running_fake_apns(
        server_cert=server.cert,
        server_key=server.key,
        client_ca=dev_chain.root_cert,
        topic=PASS_TYPE_ID,
        latency=0.05,
        max_concurrent_streams=10,
    ) as running:
        yield running, server.ca_cert


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_a_worker_killed_mid_fan_out_leaves_nothing_undelivered(
    tmp_path: Path, dev_chain: DevChain, fake: tuple[FakeApns, Path]
) -> None:
    apns, ca = fake
    env = environment(tmp_path, dev_chain, apns, ca, f"sqlite:///{tmp_path / 'queue.db'}")
    services, tokens, _ = fan_out(env)
    log = tmp_path / "worker.log"
    first = start_worker(env, log)
    try:
        assert wait_until(lambda: apns.requests >= 300, 60), log.read_text()
        first.kill()  # SIGKILL mid fan-out: in-flight tasks are lost with it
        first.wait()
        assert owed(services) > 0
        second = start_worker(env, log)
        try:
            assert wait_until(lambda: owed(services) == 0, 120), log.read_text()[-3000:]
        finally:
            stop(second)
    finally:
        stop(first)
        services.close()
    reached = {r.token for r in apns.received if r.status == 200}
    assert reached == set(tokens)


def test_two_workers_share_a_redis_queue_without_loss(
    tmp_path: Path, dev_chain: DevChain, fake: tuple[FakeApns, Path]
) -> None:
    import redis

    url = redis_url()
    redis.Redis.from_url(url).flushdb()
    apns, ca = fake
    env = environment(tmp_path, dev_chain, apns, ca, url)
    env["WALLETPASS_SWEEP_AFTER_SECONDS"] = "3600"  # only the queue feeds them here
    services, tokens, passes = fan_out(env, chunk=None)
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    workers = [start_worker(env, log) for log in logs]
    try:
        assert wait_until(lambda: all("consumer started" in log.read_text() for log in logs), 30)
        services.queue.deliver(passes, chunk=100)  # 30 tasks for 2 x 3 threads
        assert wait_until(lambda: owed(services) == 0, 120), [
            log.read_text()[-2000:] for log in logs
        ]
    finally:
        for w in workers:
            stop(w)
        services.close()
    assert {r.token for r in apns.received if r.status == 200} == set(tokens)
    # Both processes took part in the fan-out.
    for log in logs:
        assert "delivered" in log.read_text()
