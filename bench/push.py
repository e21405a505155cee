"""APNs pushes per second from one worker process, against aioapns, and a campaign end to
end; then the Android apps' relay channels (bench/push_relays.py) in the same run.

Usage: .venv/bin/python bench/push.py [--pushes 100000] [--rounds 5] [--campaign 100000]
                                      [--skip-aioapns] [--aioapns-timeout 60]
                                      [--relay-tokens 200000] [--relay-passes 50000]

Needs nginx from Debian (`apt-get install nginx`) for the fake APNs and, for the
baseline, aioapns in the virtualenv (`.venv/bin/pip install -e '.[bench]'`, or
--skip-aioapns). The script installs nothing.

The fake APNs is nginx (bench/nginx_apns.conf.tmpl), started by the script: one worker
process pinned to the second core, TLS with `ssl_verify_client on` against the dev root CA
(the client presents the Pass Type ID leaf and the WWDR intermediate), HTTP/2 with 1 000
streams per connection, 200 with an empty body, or 410 {"reason":"Unregistered",
"timestamp":<ms>} for the tokens whose last hex digit is 0-4. The script generates
exactly 30 % such dead tokens, spread evenly.

Everything on the client side is pinned to the first core:
  ours      ApnsSender built as the worker builds it (4 connections, cert auth), fed
            1 000-token batches by 4 threads like `walletpass worker --threads 4` without
            the database; VmRSS after each round. h2 keeps a record of the last 65 536
            closed streams per connection, so RSS rises until some 4 x 65 536 pushes have
            gone through; "flat memory" is judged from 1.5 times that on (the pool spreads
            pushes over connections unevenly)
  aioapns   one aioapns client in a child process kept for the whole run, as ours is
            (4 connections, 4 000 pushes in flight, like ours), with a timeout per round:
            with dead tokens it stalls, since it never acknowledges received DATA
  campaign  --campaign registered passes in a scratch SQLite database, changed by one
            set-based UPDATE, enqueued, then ONE real `walletpass worker --threads 4`
            process timed until no pass is owed
Both clients get the same warm-up (2 000 pushes, 30 % dead), then --rounds rounds of
--pushes pushes on each workload (30 % dead, live tokens only), interleaved: each round
runs both clients on one workload before the next, which client goes first alternating.
Each is reported as the median and range of its rounds. Targets: >= 5 000 pushes/s,
>= 1.2x aioapns, flat memory.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import logging
import os
import random
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import push_relays
from common import bench_env
from h2.connection import H2Connection

PASS_TYPE_ID = "pass.bench.walletpass.loyalty"  # noqa: S105 (not a password)
TEAM_ID = "BENCHTEAM1"
DEAD_SHARE = 0.3
DEAD_DIGITS, LIVE_DIGITS = "01234", "56789abcdef"  # the 410 location's regex in the template
TEMPLATE = Path(__file__).with_name("nginx_apns.conf.tmpl")
REPO = Path(__file__).resolve().parents[1]
CONNECTIONS = 4  # WALLETPASS_APNS_CONNECTIONS default
STREAMS = 1000  # per connection: nginx's http2_max_concurrent_streams and ApnsConfig's cap
BATCH = 1000  # app.queue.CHUNK: passes per delivery task
THREADS = 4  # walletpass worker --threads
WARMUP = 2000
FLAT_LIMIT_MIB = 2.0  # "flat memory": RSS growth per 100 000 pushes once h2 has settled


# --- small helpers ---------------------------------------------------------------


def rss_mib(pid: int | str = "self") -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match, status
    return int(match.group(1)) / 1024


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc, for processes we started)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def thousands(x: float) -> str:
    return f"{x:,.0f}".replace(",", " ")


def make_tokens(n: int, dead_share: float, seed: int) -> list[str]:
    """n unique 64-hex-digit tokens, exactly round(n * dead_share) of them dead, evenly spread."""
    rng = random.Random(seed)
    dead = round(n * dead_share)
    tokens = []
    for i in range(n):
        is_dead = (i + 1) * dead // n > i * dead // n
        last = rng.choice(DEAD_DIGITS if is_dead else LIVE_DIGITS)
        tokens.append(f"{rng.getrandbits(204):051x}{i:012x}{last}")
    return tokens


def dead_count(tokens: list[str]) -> int:
    return sum(t[-1] in DEAD_DIGITS for t in tokens)


def check_prerequisites(args: argparse.Namespace) -> None:
    missing = []
    if shutil.which("nginx") is None:
        missing.append("nginx is needed for the fake APNs: apt-get install nginx")
    else:
        version = subprocess.run(["nginx", "-V"], capture_output=True, text=True).stderr
        if "http_v2_module" not in version or "http_ssl_module" not in version:
            missing.append(
                "this nginx lacks HTTP/2 or TLS: apt-get install nginx (Debian's has both)"
            )
    if shutil.which("taskset") is None:
        missing.append("taskset is needed to pin processes to cores: apt-get install util-linux")
    if not args.skip_aioapns and importlib.util.find_spec("aioapns") is None:
        missing.append(
            "aioapns is needed for the baseline: .venv/bin/pip install -e '.[bench]' "
            "(or run with --skip-aioapns)"
        )
    if missing:
        raise SystemExit("\n".join(missing))


# --- the fake APNs: nginx ------------------------------------------------------------


@dataclass
class Nginx:
    process: subprocess.Popen[bytes]
    port: int
    worker_pid: int
    directory: Path
    core: int

    def cpu(self) -> float:
        return proc_cpu(self.worker_pid)

    def complaints(self) -> list[str]:
        log = self.directory / "error.log"
        return log.read_text().splitlines() if log.exists() else []


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(stat.parent.name))
    return found


@contextmanager
def running_nginx(
    directory: Path, cert: Path, key: Path, client_ca: Path, core: int
) -> Iterator[Nginx]:
    directory.mkdir(parents=True)
    port = free_port()
    text = TEMPLATE.read_text()
    values = {
        "DIR": directory,
        "PORT": port,
        "CERT": cert,
        "KEY": key,
        "CLIENT_CA": client_ca,
        "TOPIC": PASS_TYPE_ID,
    }
    for name, value in values.items():
        text = text.replace(f"@{name}@", str(value))
    left = re.findall(r"@[A-Z_]+@", text.split("\n\n", 1)[1])  # past the comment
    assert not left, f"unfilled placeholders in the nginx template: {left}"
    conf = directory / "nginx.conf"
    conf.write_text(text)
    err = directory / "error.log"
    cmd = [
        "taskset",
        "-c",
        str(core),
        "nginx",
        "-p",
        str(directory),
        "-e",
        str(err),
        "-c",
        str(conf),
    ]
    with (directory / "stderr.log").open("wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        workers: list[int] = []
        while time.monotonic() < deadline and process.poll() is None:
            with socket.socket() as s:
                up = s.connect_ex(("127.0.0.1", port)) == 0
            workers = _children(process.pid) if up else []
            if workers:
                break
            time.sleep(0.1)
        if not workers:
            logs = (directory / "stderr.log").read_text() + (
                err.read_text() if err.exists() else ""
            )
            raise SystemExit(f"nginx did not start:\n{logs}")
        yield Nginx(process, port, workers[0], directory, core)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGQUIT)  # graceful stop
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- our client -----------------------------------------------------------------


@dataclass
class Run:
    label: str
    pushes: int
    seconds: float
    outcomes: dict[str, int]
    client_cpu: float  # share of the client's core
    server_cpu: float  # share of nginx's core
    rss_mib: float | None = None
    expected: dict[str, int] | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.pushes / self.seconds if self.seconds else 0.0

    @property
    def split_ok(self) -> bool:
        return self.expected is None or self.outcomes == self.expected


def push_ours(
    sender: Any, tokens: list[str], nginx: Nginx
) -> tuple[float, Counter[str], float, float]:
    """All tokens through ApnsSender.send in batches from THREADS threads (as the worker's
    Huey threads call it); returns seconds, outcomes, client and nginx CPU shares."""
    batches = [tokens[i : i + BATCH] for i in range(0, len(tokens), BATCH)]
    outcomes: Counter[str] = Counter()
    cpu, server = own_cpu(), nginx.cpu()
    start = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        for results in pool.map(sender.send, batches):
            outcomes.update(r.outcome.value for r in results)
    seconds = time.perf_counter() - start
    return seconds, outcomes, (own_cpu() - cpu) / seconds, (nginx.cpu() - server) / seconds


def expected_split(tokens: list[str]) -> dict[str, int]:
    dead = dead_count(tokens)
    return {k: v for k, v in {"accepted": len(tokens) - dead, "unregistered": dead}.items() if v}


# --- aioapns, in a child process --------------------------------------------------


class _CountingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[f"{record.levelname} {record.msg}"] += 1


async def _aioapns_serve(spec: dict[str, Any]) -> None:
    """One aioapns client for the whole bench, like ours: the parent writes one JSON
    command a line (a token file and a timeout), this answers one JSON report a line."""
    from aioapns import APNs
    from aioapns.connection import APNsProductionClientProtocol

    # BENCHMARK ONLY, nothing of this in the app: aioapns dials the class attributes
    # APNS_SERVER:APNS_PORT (api.push.apple.com:443, also sent as the host header); this
    # subclass points it at the local nginx. Its pool builds connections from
    # `pool.protocol_class`, which is replaced below. Nothing else of aioapns is changed.
    class LocalApns(APNsProductionClientProtocol):
        APNS_SERVER = "127.0.0.1"
        APNS_PORT = int(spec["port"])

    logger = logging.getLogger("aioapns")
    handler = _CountingHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False

    async def ignore(request: Any, result: Any) -> None:
        """aioapns's hook for failed pushes (it logs each one at ERROR without it)."""

    # Through aioapns's own ssl_context parameter: trust the fake's CA, and offer ALPN "h2".
    # aioapns offers no ALPN (Apple's servers speak HTTP/2 anyway); nginx 1.22 then falls
    # back to HTTP/1.1 and drops the connection at the HTTP/2 preface.
    context = ssl.create_default_context(cafile=spec["ca"])
    context.set_alpn_protocols(["h2"])
    apns = APNs(
        client_cert=spec["pem"],  # Pass Type ID certificate + WWDR + key in one PEM
        topic=PASS_TYPE_ID,
        use_sandbox=False,
        max_connections=CONNECTIONS,
        ssl_context=context,
        err_func=ignore,
    )
    apns.pool.protocol_class = LocalApns
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        command = json.loads(line)
        tokens = Path(command["tokens"]).read_text().split()
        handler.counts.clear()
        report = await _aioapns_round(apns, tokens, float(command["timeout"]))
        report["log"] = dict(handler.counts)
        print(json.dumps(report), flush=True)
    apns.pool.close()
    await asyncio.sleep(0.1)


async def _aioapns_round(apns: Any, tokens: list[str], timeout: float) -> dict[str, Any]:
    from aioapns import NotificationRequest

    statuses: Counter[str] = Counter()
    done = 0
    pending = iter(tokens)

    async def worker() -> None:
        nonlocal done
        for token in pending:
            try:
                result = await apns.send_notification(
                    NotificationRequest(device_token=token, message={})
                )
            except Exception as exc:
                statuses[f"exception {type(exc).__name__}"] += 1
            else:
                statuses[f"{result.status} {result.description or ''}".strip()] += 1
            done += 1

    rss_before = rss_mib()
    cpu = own_cpu()
    start = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(CONNECTIONS * STREAMS)]
    samples: list[tuple[float, int]] = []
    connections = 0
    deadline = start + timeout
    while time.perf_counter() < deadline and done < len(tokens):
        await asyncio.sleep(0.25)
        samples.append((time.perf_counter() - start, done))
        connections = max(connections, len(apns.pool.connections))
    seconds = time.perf_counter() - start
    cpu = own_cpu() - cpu
    rss_after = rss_mib()
    for task in tasks:  # after a timeout: what is still in flight is given up
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    # The first stretch of >= 2 s without a single answer, if any.
    stall_at = stalled_done = None
    for i, (t, n) in enumerate(samples):
        later = [m for u, m in samples[i:] if u <= t + 2.0]
        if samples[-1][0] >= t + 2.0 and n < len(tokens) and later[-1] == n:
            stall_at, stalled_done = t, n
            break
    return {
        "done": done,
        "seconds": seconds,
        "completed": done == len(tokens),
        "statuses": dict(statuses),
        "cpu": cpu / seconds,
        "rss_before": rss_before,
        "rss_after": rss_after,
        "connections": connections,
        "stall_at": stall_at,
        "stalled_done": stalled_done,
        "timeline": [(round(t, 1), n) for t, n in samples[:: max(1, len(samples) // 12)]],
    }


def aioapns_child(spec_file: str) -> None:
    asyncio.run(_aioapns_serve(json.loads(Path(spec_file).read_text())))


class AioapnsChild:
    """The aioapns client in a child process (it inherits this process's core), kept
    for every round as ours is, so both are warm and measured alike."""

    def __init__(self, root: Path, nginx: Nginx, pem: Path, ca: Path, timeout: float) -> None:
        self.root, self.nginx, self.timeout = root, nginx, timeout
        spec_file = root / "aioapns.json"
        spec_file.write_text(json.dumps({"port": nginx.port, "ca": str(ca), "pem": str(pem)}))
        self.stderr = (root / "aioapns.stderr").open("w+")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--aioapns-child", str(spec_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            cwd=REPO,
        )

    def push(self, name: str, tokens: list[str]) -> dict[str, Any]:
        token_file = self.root / f"{name}.tokens"
        token_file.write_text("\n".join(tokens))
        assert self.process.stdin is not None and self.process.stdout is not None
        server = self.nginx.cpu()
        started = time.perf_counter()
        self.process.stdin.write(json.dumps({"tokens": str(token_file), "timeout": self.timeout}))
        self.process.stdin.write("\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        wall = time.perf_counter() - started
        if not line.strip():
            self.stderr.seek(0)
            raise SystemExit(f"the aioapns run failed:\n{self.stderr.read()[-3000:]}")
        report: dict[str, Any] = json.loads(line)
        report["server_cpu"] = (self.nginx.cpu() - server) / wall
        return report

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.stderr.close()


def aioapns_run(label: str, tokens: list[str], report: dict[str, Any]) -> Run:
    statuses = report["statuses"]
    outcomes = {
        "accepted" if k == "200" else "unregistered" if k.startswith("410") else k: v
        for k, v in statuses.items()
    }
    overall = report["done"] / report["seconds"]
    report["overall_rate"] = overall
    if report["stall_at"] is not None:
        # The rate until the first stall: what it does while it works.
        pushes, seconds = report["stalled_done"], report["stall_at"]
        resent = sum(v for k, v in report["log"].items() if "ConnectionClosed" in k)
        finish = "all answered" if report["completed"] else "answered by the timeout"
        note = (
            f"STALLED after {report['stalled_done']} answers at {report['stall_at']:.1f} s; "
            f"{report['done']} {finish} in {report['seconds']:.0f} s "
            f"({thousands(overall)}/s overall), {resent} pushes re-sent after connections "
            "it dropped"
        )
    else:
        pushes, seconds = report["done"], report["seconds"]
        note = "" if report["completed"] else f"timeout: {report['done']} answered"
    return Run(
        label,
        pushes,
        seconds,
        outcomes,
        report["cpu"],
        report["server_cpu"],
        report["rss_after"],
        expected_split(tokens) if report["completed"] else None,
        note,
        report,
    )


# --- end to end: a campaign through a real worker process ------------------------------


def create_campaign_data(services: Any, tokens: list[str]) -> list[int]:
    """Registered passes (delivered: version 1 = apns_delivered_version 1), then one
    set-based UPDATE marking them all changed, as a campaign does. Returns the pass ids."""
    from sqlalchemy import insert, select, update

    from app.db import new_public_id
    from app.loyalty.models import Card, Member
    from app.passes.models import AppleDevice, AppleRegistration, WalletPass
    from app.services.programs import seed_demo

    n = len(tokens)
    now = datetime.now(UTC)
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        tier = program.default_tier.id
        session.execute(
            insert(Member),
            [
                {
                    "program_id": program.id,
                    "phone": f"+7905{i:07d}",
                    "name": "Bench",
                    "locale": "ru",
                    "marketing_consent": True,
                    "created_at": now,
                }
                for i in range(n)
            ],
        )
        members = session.scalars(select(Member.id).order_by(Member.id)).all()
        session.execute(
            insert(Card),
            [
                {
                    "public_id": new_public_id(),
                    "program_id": program.id,
                    "member_id": m,
                    "number": f"{i:013d}",
                    "barcode_secret": "X" * 10,
                    "tier_id": tier,
                    "balance": 0,
                    "status": "active",
                    "created_at": now,
                }
                for i, m in enumerate(members)
            ],
        )
        cards = session.scalars(select(Card.id).order_by(Card.id)).all()
        session.execute(
            insert(WalletPass),
            [
                {
                    "card_id": c,
                    "serial_number": new_public_id(),
                    "auth_token": "t" * 24,
                    "version": 1,
                    "apns_delivered_version": 1,
                    "updated_at": now,
                    "last_modified": 0,
                    "created_at": now,
                }
                for c in cards
            ],
        )
        session.execute(
            insert(AppleDevice),
            [
                {"library_id": f"d{i}", "push_token": t, "created_at": now, "updated_at": now}
                for i, t in enumerate(tokens)
            ],
        )
        passes = session.scalars(select(WalletPass.id).order_by(WalletPass.id)).all()
        devices = session.scalars(select(AppleDevice.id).order_by(AppleDevice.id)).all()
        session.execute(
            insert(AppleRegistration),
            [
                {"device_id": d, "pass_id": p, "created_at": now}
                for d, p in zip(devices, passes, strict=True)
            ],
        )
    with services.transaction() as session:
        changed = datetime.now(UTC)
        session.execute(
            update(WalletPass).values(version=WalletPass.version + 1, updated_at=changed)
        )
    return list(passes)


def owed(services: Any) -> int:
    from sqlalchemy import func, select

    from app.passes.models import WalletPass

    with services.transaction(write=False) as session:
        return int(
            session.scalar(
                select(func.count()).where(WalletPass.version > WalletPass.apns_delivered_version)
            )
            or 0
        )


@dataclass
class Campaign:
    passes: int
    setup_seconds: float
    seconds: float
    startup_seconds: float | None
    pruned: int
    expected_dead: int
    counters: dict[str, int]
    worker_cpu: float
    worker_rss_mib: float
    server_cpu: float
    sweeps: int
    log_problems: list[str]
    finished: bool

    @property
    def rate(self) -> float:
        return self.passes / self.seconds


def campaign(
    n: int, root: Path, chain_dir: Path, ca: Path, nginx: Nginx, core: int, timeout: float
) -> Campaign:
    from sqlalchemy import func, select

    from app.bootstrap import build_services, upgrade_database
    from app.passes.models import AppleRegistration
    from app.services import delivery
    from app.settings import Settings

    instance = root / "instance"
    env = bench_env(
        instance,
        WALLETPASS_DATABASE_URL=f"sqlite:///{root / 'campaign.sqlite'}",
        WALLETPASS_DEV_CERTS_DIR=str(chain_dir),
        WALLETPASS_APPLE_PASS_TYPE_ID=PASS_TYPE_ID,
        WALLETPASS_APPLE_TEAM_ID=TEAM_ID,
        WALLETPASS_APNS_URL=f"https://127.0.0.1:{nginx.port}",
        WALLETPASS_APNS_CA_FILE=str(ca),
    )
    env.pop("WALLETPASS_QUEUE_URL", None)  # the default: a SQLite Huey queue in the instance dir
    settings = Settings.from_env(env)
    started = time.perf_counter()
    upgrade_database(settings.database_url)
    services = build_services(settings)
    tokens = make_tokens(n, DEAD_SHARE, seed=3)
    try:
        passes = create_campaign_data(services, tokens)
        tasks = services.queue.deliver(passes)
        setup = time.perf_counter() - started
        assert owed(services) == n
        print(
            f"campaign: {n} registered passes created, changed by one UPDATE and enqueued "
            f"as {tasks} tasks in {setup:.1f} s; starting the worker",
            flush=True,
        )
        log = root / "worker.log"
        cmd = [sys.executable, "-m", "app.cli", "worker", "--threads", str(THREADS)]
        with log.open("wb") as out:
            worker = subprocess.Popen(
                ["taskset", "-c", str(core), *cmd],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = nginx.cpu()
        start = time.perf_counter()
        startup: float | None = None
        finished = False
        cpu = rss = 0.0
        try:
            while time.perf_counter() - start < timeout:
                time.sleep(0.5)
                if worker.poll() is not None:
                    raise SystemExit(f"the worker exited:\n{log.read_text()[-3000:]}")
                if startup is None and "consumer started" in log.read_text():
                    startup = time.perf_counter() - start
                cpu, rss = proc_cpu(worker.pid), rss_mib(worker.pid)
                if owed(services) == 0:
                    finished = True
                    break
            seconds = time.perf_counter() - start
            server_cpu = (nginx.cpu() - server) / seconds
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGINT)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
        with services.transaction(write=False) as session:
            left = int(session.scalar(select(func.count()).select_from(AppleRegistration)) or 0)
            counters = delivery.stats(session, services.clock).counters
        text = log.read_text()
        problems = [line for line in text.splitlines() if " WARNING " in line or " ERROR " in line]
        return Campaign(
            passes=n,
            setup_seconds=setup,
            seconds=seconds,
            startup_seconds=startup,
            pruned=n - left,
            expected_dead=dead_count(tokens),
            counters=counters,
            worker_cpu=cpu / seconds,
            worker_rss_mib=rss,
            server_cpu=server_cpu,
            sweeps=text.count("sweeper:"),
            log_problems=problems,
            finished=finished,
        )
    finally:
        services.close()


# --- report -----------------------------------------------------------------------------


def print_run(run: Run) -> None:
    rss = f"{run.rss_mib:7.1f}" if run.rss_mib is not None else "      -"
    outcomes = " ".join(f"{k} {v}" for k, v in sorted(run.outcomes.items()))
    check = "" if run.expected is None else ("  split ok" if run.split_ok else "  SPLIT MISMATCH")
    print(
        f"{run.label:30} {run.pushes:7d} {run.seconds:7.1f} {thousands(run.rate):>9} "
        f"{run.client_cpu:7.0%} {run.server_cpu:7.0%}  {rss}   {outcomes}{check}",
        flush=True,
    )
    if run.note:
        print(f"{'':30}   {run.note}", flush=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pushes", type=int, default=100_000, help="pushes per round")
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds of each client and workload (>= 2)"
    )
    parser.add_argument("--campaign", type=int, default=100_000, help="passes; 0 skips it")
    parser.add_argument("--campaign-timeout", type=float, default=600.0)
    parser.add_argument("--skip-aioapns", action="store_true")
    parser.add_argument("--aioapns-timeout", type=float, default=60.0, help="seconds per run")
    parser.add_argument("--relay-tokens", type=int, default=200_000, help="0 skips relays")
    parser.add_argument("--relay-passes", type=int, default=50_000, help="pipeline run, 0 skips")
    parser.add_argument("--aioapns-child", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.aioapns_child:
        aioapns_child(args.aioapns_child)
        return
    if args.rounds < 2 or args.pushes < 1000:
        parser.error("--rounds must be >= 2 and --pushes >= 1000")
    check_prerequisites(args)

    from app.fakes.tls import make_server_cert
    from app.passes.apple.certs import generate_dev_chain
    from app.push.apns.client import ApnsConfig, ApnsSender

    cores = sorted(os.sched_getaffinity(0))
    client_core = cores[0]
    server_core = cores[1] if len(cores) > 1 else cores[0]
    os.sched_setaffinity(0, {client_core})  # threads and child processes inherit it
    if server_core == client_core:
        print("WARNING: one core only: nginx shares the client's core", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        root = Path(tmp)
        server = make_server_cert(root / "fake-ca")
        chain = generate_dev_chain(root / "certs", PASS_TYPE_ID, TEAM_ID, now=datetime.now(UTC))
        client_pem = root / "client.pem"  # what the worker writes: leaf + WWDR, key apart
        client_pem.write_bytes(chain.pass_cert.read_bytes() + chain.wwdr_cert.read_bytes())
        aioapns_pem = root / "aioapns.pem"  # aioapns takes one file with the key in it
        aioapns_pem.write_bytes(client_pem.read_bytes() + chain.pass_key.read_bytes())
        aioapns_pem.chmod(0o600)

        tokens = make_tokens(args.pushes, DEAD_SHARE, seed=1)
        live = make_tokens(args.pushes, 0.0, seed=2)
        dead = dead_count(tokens)
        nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
        aioapns_version = "skipped"
        if not args.skip_aioapns:
            from importlib.metadata import version

            aioapns_version = version("aioapns")

        with running_nginx(
            root / "nginx", server.cert, server.key, chain.root_cert, server_core
        ) as nginx:
            print(
                f"fake APNs: {nginx_version.strip().split(': ')[-1]}, 1 worker process on core "
                f"{server_core}, port {nginx.port}; clients on core {client_core}; "
                f"aioapns {aioapns_version}",
                flush=True,
            )
            print(
                f"{args.pushes} pushes per run, {dead} dead tokens ({dead / len(tokens):.1%}); "
                f"ours: ApnsSender, {CONNECTIONS} connections x {STREAMS} streams, batches of "
                f"{BATCH} from {THREADS} threads; aioapns: {CONNECTIONS} connections, "
                f"{CONNECTIONS * STREAMS} pushes in flight",
                flush=True,
            )
            print(
                f"\n{'run':30} {'pushes':>7} {'s':>7} {'pushes/s':>9} {'client':>7} "
                f"{'nginx':>7}  {'RSS MiB':>7}   outcomes",
                flush=True,
            )
            config = ApnsConfig(
                topic=PASS_TYPE_ID,
                base_url=f"https://127.0.0.1:{nginx.port}",
                client_cert=client_pem,
                client_key=chain.pass_key,
                ca_file=server.ca_cert,
                connections=CONNECTIONS,
                max_streams=STREAMS,
            )
            # Both clients: one warm-up on the same tokens, then per round each workload
            # through each client, the order within a pair alternating between rounds.
            ours: dict[str, list[Run]] = {"dead": [], "live": []}
            theirs: dict[str, list[Run]] = {"dead": [], "live": []}
            warmup = make_tokens(min(WARMUP, args.pushes), DEAD_SHARE, seed=4)
            workloads = {"dead": ("30 % dead", tokens), "live": ("live tokens only", live)}
            child = None
            if not args.skip_aioapns:
                child = AioapnsChild(root, nginx, aioapns_pem, server.ca_cert, args.aioapns_timeout)
            try:
                with ApnsSender(config) as sender:
                    sender.send(warmup)
                    memory = [(len(warmup), rss_mib())]  # (pushes sent so far, VmRSS MiB)
                    print(f"{'ours, after a warm-up':30} {'':>34}  {memory[0][1]:7.1f}", flush=True)
                    if child is not None:
                        rss = child.push("warm-up", warmup)["rss_after"]
                        print(f"{'aioapns, after a warm-up':30} {'':>34}  {rss:7.1f}", flush=True)

                    def ours_round(label: str, toks: list[str]) -> Run:
                        seconds, outcomes, cpu, server_cpu = push_ours(sender, toks, nginx)
                        memory.append((memory[-1][0] + len(toks), rss_mib()))
                        return Run(
                            label, len(toks), seconds, dict(outcomes), cpu, server_cpu,
                            memory[-1][1], expected_split(toks),
                        )  # fmt: skip

                    for r in range(args.rounds):
                        for name, (what, toks) in workloads.items():
                            pair = ["ours", "aioapns"] if child is not None else ["ours"]
                            for client in pair if r % 2 == 0 else pair[::-1]:
                                label = f"{client}, {what}, round {r + 1}"
                                if client == "ours":
                                    run = ours_round(label, toks)
                                    ours[name].append(run)
                                else:
                                    assert child is not None
                                    run = aioapns_run(label, toks, child.push(name, toks))
                                    theirs[name].append(run)
                                print_run(run)
            finally:
                if child is not None:
                    child.close()

            result = None
            if args.campaign:
                print(flush=True)
                result = campaign(
                    args.campaign,
                    root,
                    chain.root_cert.parent,
                    server.ca_cert,
                    nginx,
                    client_core,
                    args.campaign_timeout,
                )
            complaints = nginx.complaints()

        relays = []
        if args.relay_tokens:
            print(flush=True)
            pipeline = (
                (args.relay_passes, root, create_campaign_data) if args.relay_passes else None
            )
            relays = push_relays.run_all(args.relay_tokens, server_core, pipeline)

    summarize(ours, theirs, memory, complaints, result)
    if relays:
        push_relays.summarize(relays)
        pipeline = [r for r in relays if r.label.startswith("pipeline")]
        if pipeline and result is not None and result.rate:
            print(
                f"  same run: relay pipeline {pipeline[0].rate / result.rate:.1f}x the APNs "
                f"campaign ({thousands(pipeline[0].rate)} tokens/s vs {thousands(result.rate)} "
                "passes/s, one device per pass in both)"
            )


def spread(runs: list[Run]) -> str:
    rates = [r.rate for r in runs]
    return (
        f"{thousands(statistics.median(rates))} pushes/s median of {len(rates)} rounds "
        f"(range {thousands(min(rates))}-{thousands(max(rates))})"
    )


def summarize(
    ours: dict[str, list[Run]],
    theirs: dict[str, list[Run]],
    memory: list[tuple[int, float]],
    complaints: list[str],
    result: Campaign | None,
) -> None:
    median = statistics.median(r.rate for r in ours["dead"])
    # h2 remembers up to MAX_CLOSED_STREAMS closed streams per connection (a bounded
    # OrderedDict): RSS rises until that many pushes went over every connection. The pool
    # does not spread pushes evenly, so the steady state is judged from 1.5x that on.
    cap = CONNECTIONS * H2Connection.MAX_CLOSED_STREAMS
    settled = cap * 3 // 2
    steady = [(n, rss) for n, rss in memory if n >= settled]
    per_100k: float | None = None
    if len(steady) >= 2 and steady[-1][0] - steady[0][0] >= 100_000:
        (n0, rss0), (n1, rss1) = steady[0], steady[-1]
        per_100k = (rss1 - rss0) * 100_000 / (n1 - n0)
    rising = (steady[0][1] if steady else memory[-1][1]) - memory[0][1]
    everyone = ours["dead"] + ours["live"]
    if theirs["dead"]:
        print("\nsummary (both clients warmed up on the same tokens, then the same rounds)")
    else:
        print("\nsummary")
    for name, what in (("dead", "30 % dead"), ("live", "live tokens only")):
        print(f"  ours, {what}: {spread(ours[name])}")
        if theirs[name]:
            stalled = sum(r.extra["stall_at"] is not None for r in theirs[name])
            print(f"  aioapns, {what}: {spread(theirs[name])}", end="")
            if stalled:
                overall = statistics.median(r.extra["overall_rate"] for r in theirs[name])
                print(
                    f"; until its first stall in {stalled} of {len(theirs[name])} rounds "
                    f"(median over whole rounds {thousands(overall)} pushes/s)",
                    end="",
                )
            print()
    print(
        f"  client core {statistics.median(r.client_cpu for r in everyone):.0%} busy "
        f"(ours, median), nginx core {max(r.server_cpu for r in everyone):.0%} at most"
    )
    split = all(r.split_ok for r in everyone)
    print(f"  outcome split of every run of ours as generated: {'yes' if split else 'NO'}")
    series = " -> ".join(f"{rss:.0f}" for _, rss in memory)
    print(f"  VmRSS MiB after the warm-up and after each run of ours: {series}")
    print(
        f"  {rising:+.1f} MiB while h2's closed-stream records fill up ({CONNECTIONS} "
        f"connections x {H2Connection.MAX_CLOSED_STREAMS} streams; judged full after {settled} "
        "pushes, as the pool spreads pushes unevenly)"
    )
    print(f"  [{verdict(median >= 5000)}] >= 5 000 pushes/s from one process (30 % dead, median)")
    for name, what in (("dead", "same workload (30 % dead)"), ("live", "live tokens only")):
        if theirs[name]:
            mine = statistics.median(r.rate for r in ours[name])
            other = statistics.median(r.rate for r in theirs[name])
            ratio = mine / other if other else float("inf")
            print(
                f"  [{verdict(ratio >= 1.2)}] >= 1.2x aioapns, {what}: {ratio:.1f}x, medians "
                f"{thousands(mine)} vs {thousands(other)} pushes/s"
            )
    if not theirs["dead"]:
        print("  [skipped] >= 1.2x aioapns (--skip-aioapns)")
    if per_100k is None:
        print(
            f"  [not shown] flat memory: the run is too short to go past {settled} pushes "
            "plus 100 000 (more --rounds or --pushes)"
        )
    else:
        print(
            f"  [{verdict(abs(per_100k) <= FLAT_LIMIT_MIB)}] flat memory: {per_100k:+.2f} MiB "
            f"per 100 000 pushes after the first {settled} (limit {FLAT_LIMIT_MIB:g})"
        )
    if result is not None:
        state = "" if result.finished else " NOT FINISHED (timeout)"
        startup = f"{result.startup_seconds:.1f}" if result.startup_seconds else "?"
        print(
            f"  campaign: {result.passes} passes fully pushed in {result.seconds:.1f} s "
            f"({thousands(result.rate)} passes/s) by one worker process{state}, of which "
            f"~{startup} s start-up; {result.pruned} registrations pruned "
            f"(dead tokens: {result.expected_dead}); setup {result.setup_seconds:.0f} s"
        )
        print(
            f"    worker core {result.worker_cpu:.0%} busy, RSS {result.worker_rss_mib:.0f} MiB "
            f"at the end; nginx core {result.server_cpu:.0%}; sweeper re-enqueues: "
            f"{result.sweeps}; counters {result.counters}"
        )
        for line in result.log_problems[:5]:
            print(f"    worker log: {line}")
    for run in theirs["dead"] + theirs["live"]:
        timeline = ", ".join(f"{n} at {t:g} s" for t, n in run.extra["timeline"])
        print(f"  {run.label}: answers {timeline}; {run.extra['connections']} connections")
        print(f"    its log: {run.extra['log']}")
    if complaints:
        print(f"  nginx error.log: {len(complaints)} lines, e.g. {complaints[:3]}")


if __name__ == "__main__":
    main()
