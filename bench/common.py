"""Pieces shared by the HTTP benchmarks: a gunicorn server process, wrk runs."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def bench_env(root: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "WALLETPASS_ENV": "test",
        "WALLETPASS_INSTANCE_DIR": str(root),
        "WALLETPASS_DEV_CERTS_DIR": str(root / "certs"),
        "WALLETPASS_PUBLIC_URL": "https://wallet.example.test",
        "WALLETPASS_SECRET_KEY": "bench-" + "k" * 40,
        "WALLETPASS_ENROLL_RATE_LIMIT": "100000/minute",
        "WALLETPASS_ENROLL_PHONE_RATE_LIMIT": "100000/minute",
        "WALLETPASS_POS_RATE_LIMIT": "1000000/minute",
        # The registration bench puts a new device on each pass round after round.
        "WALLETPASS_PASSKIT_REGISTER_RATE_LIMIT": "1000000/minute",
        "WALLETPASS_PASSKIT_REGISTER_PASS_RATE_LIMIT": "1000000/minute",
        "WALLETPASS_MAX_DEVICES_PER_PASS": "1000",
        **extra,
    }


def scratch_services(root: Path, database_url: str | None) -> Any:
    """Migrated services for an in-process bench: SQLite under ``root``, or the given
    (empty or reused) database; an in-memory queue. Returns (settings, services)."""
    extra = {"WALLETPASS_QUEUE_URL": "memory://"}
    if database_url:
        extra["WALLETPASS_DATABASE_URL"] = database_url
    os.environ.update(bench_env(root, **extra))
    from app.bootstrap import build_services, upgrade_database
    from app.settings import Settings

    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    return settings, build_services(settings)


@dataclass(frozen=True)
class BuiltChain:
    """A read session on the demo program of a chain `bench/dashboard.py --build-only`
    built, and the local day after its last receipt."""

    args: argparse.Namespace
    session: Any
    program: Any
    end_day: int

    def views(self) -> dict[str, tuple[int, int]]:
        """The dashboard's periods ending at the chain's last midnight, as local days."""
        return {
            "default view (30 days)": (self.end_day - 30, self.end_day),
            "year view (52 weeks)": (self.end_day - 364, self.end_day),
        }


@contextmanager
def built_chain(
    description: str | None, options: Callable[[argparse.ArgumentParser], Any] | None = None
) -> Iterator[BuiltChain]:
    """Parse ``--database-url`` (required), ``--rounds`` (default 5) and what
    ``options`` adds, migrate that database and open a read session on its demo
    program."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    if options is not None:
        options(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _, services = scratch_services(Path(tmp), args.database_url)
        from sqlalchemy import func, select

        from app.analytics.rollups import day_of
        from app.loyalty.models import Program
        from app.till.models import Receipt

        try:
            with services.transaction(write=False) as session:
                program = session.scalar(select(Program).where(Program.slug == "demo"))
                last = session.scalar(select(func.max(Receipt.created_at)))
                if program is None or last is None:
                    sys.exit("no demo program with receipts: build it with bench/dashboard.py")
                yield BuiltChain(args, session, program, day_of(program, last) + 1)
        finally:
            services.close()


def serve_app(workers: int, threads: int, port: int) -> None:
    """Run in the server subprocess: the app plus a bare route, under gunicorn. The
    environment (bench_env) names the instance directory, which holds gunicorn's control
    socket as it does for `walletpass serve`."""
    from flask import Flask, Response

    from app.settings import Settings
    from app.web import create_app
    from app.web.server import serve

    def factory() -> Flask:  # built in each gunicorn worker, after the fork
        app = create_app()
        app.add_url_rule("/bench/bare", "bench_bare", lambda: Response("ok\n"))
        return app

    instance_dir = Settings.from_env().instance_dir
    serve(
        factory,
        host="127.0.0.1",
        port=port,
        instance_dir=instance_dir,
        workers=workers,
        threads=threads,
    )


def start_server(
    script: str, args: list[str], env: dict[str, str], port: int, cpus: str | None
) -> subprocess.Popen[bytes]:
    """Start `script` serving with serve_app and wait until the app answers: gunicorn's
    master listens before its worker has built the app, so an open port is not enough
    (the first timed run would see nothing)."""
    cmd = [sys.executable, script, *args]
    if cpus is not None:
        cmd = ["taskset", "-c", cpus, *cmd]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/bare", timeout=5):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds spent so far by ``pid`` and its live descendants (the
    gunicorn master and its workers): the server's own work, whatever else runs."""
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:  # ended meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick

    def within(p: int) -> bool:
        while p > 1:
            if p == pid:
                return True
            p = parents.get(p, 1)
        return False

    return sum(seconds for p, seconds in used.items() if within(p))


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int  # completed in the run


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if match is None:  # wrk prints e.g. "-nanus" when a run saw too few requests
        return float("nan")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(
    url: str,
    seconds: float,
    *,
    threads: int = 1,
    connections: int = 8,
    script: Path | None = None,
    headers: tuple[str, ...] = (),
    cpus: str | None = None,
) -> WrkResult:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    if cpus is not None:
        cmd = ["taskset", "-c", cpus, *cmd]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", str(script)]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"50%\s+(\S+)", out)
    p99 = re.search(r"99%\s+(\S+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    done = re.search(r"(\d+) requests in", out)
    assert rate and p50 and p99 and done, out
    return WrkResult(
        float(rate.group(1)),
        _ms(p50.group(1)),
        _ms(p99.group(1)),
        int(errors.group(1)) if errors else 0,
        int(done.group(1)),
    )
