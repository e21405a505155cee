"""Relay channel throughput: tokens notified per second from one process to a fake relay.

Run by bench/push.py in the same run as APNs (or alone:
`.venv/bin/python bench/push_relays.py [--tokens 200000]`). The fake relays
(app/fakes/relays.py: the real protocol checks, keys, body shape, batch limits) serve
from a child process pinned to the second core; the client is the worker's own relay
channel code, batches of the relay's limit sent from the pipeline's 8 concurrent calls,
keep-alive connections, on the first core. Target: >= 20 000 tokens/s to a batching
relay (1 000 tokens per call).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PASS_TYPE_ID = "pass.bench.walletpass.loyalty"  # noqa: S105 (not a password)
KEY = "bench-relay-key-0123"
CALLS = 8  # handlers._CONCURRENT_CALLS
TARGET = 20_000


@dataclass
class RelayRun:
    label: str
    tokens: int
    calls: int
    seconds: float
    client_cpu: float
    server_cpu: float
    outcomes: dict[str, int]

    @property
    def rate(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


@contextmanager
def fake_relay_process(core: int) -> Iterator[tuple[int, int]]:
    """(port, pid) of the fake relays serving from a child pinned to ``core``."""
    code = (
        "import sys\n"
        "from app.fakes.relays import running_fake_relays\n"
        f"keys = {{a: {KEY!r} for a in ('pass2u', 'passworks', 'passhub')}}\n"
        "with running_fake_relays(keys=keys, record=False) as fake:\n"
        "    print(fake.port, flush=True)\n"
        "    sys.stdin.read()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        ["taskset", "-c", str(core), sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield port, proc.pid
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(10)


def relay_runs(n: int, port: int, server_pid: int) -> list[RelayRun]:
    from app.push.relay_http import RelayHttp
    from app.push.relays import Pass2U, Retrying, WalletUnion, WalletUnionHms
    from app.settings import RelaySettings

    base = f"http://127.0.0.1:{port}"
    http = RelayHttp()
    fast = Retrying(attempts=1)
    pass2u = Pass2U(
        RelaySettings(
            url=f"{base}/pass2u/v2/registrations/{{passTypeIdentifier}}/push",
            key=KEY,
            key_required=True,
            off=None,
        ),
        http,
        retrying=fast,
    )
    union = RelaySettings(
        url=f"{base}/walletunion/api/v1/push", key=None, key_required=False, off=None
    )
    channels = [
        ("Pass2U, 1 000 per call", pass2u, n),
        ("WalletUnion HMS, 1 000 per call", WalletUnionHms(union, http, retrying=fast), n),
        ("WalletUnion FCM, 50 per call", WalletUnion(union, http, retrying=fast), n // 4),
    ]
    tokens = [f"fcm:APA91b{i:012d}" for i in range(n)]
    runs = []
    try:
        # warm-up: connections opened, code paths hot
        pass2u.send(PASS_TYPE_ID, tokens[:2000])
        for label, channel, count in channels:
            batches = [
                tokens[i : min(i + channel.max_batch, count)]
                for i in range(0, count, channel.max_batch)
            ]
            outcomes: Counter[str] = Counter()
            cpu, server = _own_cpu(), _cpu(server_pid)
            start = time.perf_counter()
            with ThreadPoolExecutor(CALLS) as pool:
                for results in pool.map(partial(channel.send, PASS_TYPE_ID), batches):
                    outcomes.update(r.outcome for r in results)
            seconds = time.perf_counter() - start
            runs.append(
                RelayRun(
                    label,
                    count,
                    len(batches),
                    seconds,
                    (_own_cpu() - cpu) / seconds,
                    (_cpu(server_pid) - server) / seconds,
                    dict(outcomes),
                )
            )
            print_relay_run(runs[-1])
    finally:
        http.close()
    return runs


def print_relay_run(run: RelayRun) -> None:
    outcomes = " ".join(f"{k} {v}" for k, v in sorted(run.outcomes.items()))
    print(
        f"{run.label:34} {run.tokens:7d} {run.calls:6d} {run.seconds:7.2f} "
        f"{run.rate:>10,.0f} {run.client_cpu:7.0%} {run.server_cpu:7.0%}   {outcomes}",
        flush=True,
    )


def header() -> None:
    print(
        f"\n{'relay run':34} {'tokens':>7} {'calls':>6} {'s':>7} {'tokens/s':>10} "
        f"{'client':>7} {'relay':>7}   outcomes",
        flush=True,
    )


def summarize(runs: list[RelayRun]) -> None:
    """The target is judged on the worker's whole path when it ran, else the channel."""
    pipeline = [r for r in runs if r.label.startswith("pipeline")]
    batching = [r for r in runs if "1 000" in r.label]
    judged = pipeline or batching
    best = max(r.rate for r in judged) if judged else 0.0
    print(
        f"  [{'met' if best >= TARGET else 'NOT met'}] >= 20 000 tokens/s to a batching relay"
        f"{' through the worker pipeline (database included)' if pipeline else ''}: "
        f"{best:,.0f} tokens/s"
    )
    for r in runs:
        if r not in pipeline:
            print(f"  channel alone, {r.label}: {r.rate:,.0f} tokens/s")


def pipeline_run(
    n: int, root: Path, port: int, server_pid: int, make_data: Callable[[Any, list[str]], list[int]]
) -> RelayRun:
    """The worker's whole path for Pass2U devices: ``n`` registered passes changed at
    once in a scratch SQLite database, delivered by ``handlers.deliver_passkit`` in
    1 000-pass tasks from 4 threads (`walletpass worker --threads 4`): owed rows read,
    relay calls, answers recorded, delivered versions moved."""
    from common import bench_env
    from sqlalchemy import update

    from app.bootstrap import build_services, upgrade_database
    from app.passes.models import AppleDevice
    from app.push.channels import Channels
    from app.push.relay_http import RelayHttp
    from app.push.relays import build_relays
    from app.settings import Settings
    from app.worker import handlers

    env = bench_env(
        root / "relay-instance",
        WALLETPASS_DATABASE_URL=f"sqlite:///{root / 'relays.db'}",
        WALLETPASS_APPLE_PASS_TYPE_ID=PASS_TYPE_ID,
        WALLETPASS_APPLE_TEAM_ID="BENCHTEAM1",
        WALLETPASS_QUEUE_URL="memory://",
        WALLETPASS_PUSH_PASS2U_URL=(
            f"http://127.0.0.1:{port}/pass2u/v2/registrations/{{passTypeIdentifier}}/push"
        ),
        WALLETPASS_PUSH_PASS2U_KEY=KEY,
    )
    settings = Settings.from_env(env)
    upgrade_database(settings.database_url)
    services = build_services(settings)
    http = RelayHttp()
    try:
        pass_ids = make_data(services, [f"fcm:APA91b{i:012d}" for i in range(n)])
        with services.transaction() as session:
            session.execute(update(AppleDevice).values(wallet_app="pass2u"))
        channels = Channels(build_relays(settings.relays, http, production=False))
        chunks = [pass_ids[i : i + 1000] for i in range(0, len(pass_ids), 1000)]
        outcomes: Counter[str] = Counter()
        cpu, server = _own_cpu(), _cpu(server_pid)
        start = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            for report in pool.map(partial(handlers.deliver_passkit, services, channels), chunks):
                outcomes.update(report.outcomes)
                outcomes["passes delivered"] += report.delivered_passes
        seconds = time.perf_counter() - start
        run = RelayRun(
            "pipeline: Pass2U via the database",
            n,
            len(chunks),
            seconds,
            (_own_cpu() - cpu) / seconds,
            (_cpu(server_pid) - server) / seconds,
            dict(outcomes),
        )
        print_relay_run(run)
        return run
    finally:
        http.close()
        services.close()


def run_all(
    n: int,
    server_core: int,
    pipeline: tuple[int, Path, Callable[[Any, list[str]], list[int]]] | None = None,
) -> list[RelayRun]:
    with fake_relay_process(server_core) as (port, pid):
        print(f"fake relays: app/fakes/relays.py in one process on core {server_core}, port {port}")
        header()
        runs = relay_runs(n, port, pid)
        if pipeline is not None:
            passes, root, make_data = pipeline
            runs.append(pipeline_run(passes, root, port, pid, make_data))
        return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=200_000)
    args = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    client, server = cores[0], cores[1] if len(cores) > 1 else cores[0]
    os.sched_setaffinity(0, {client})
    runs = run_all(args.tokens, server)
    print("\nsummary")
    summarize(runs)


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
