"""A campaign measured to the last phone: from the staff API call that launches it until
every device holds the new pass.

Usage: .venv/bin/python bench/campaign_e2e.py --database-url postgresql+psycopg://.../<empty db>
       [--cards 20000] [--redis-url redis://127.0.0.1:6379/12] [--serve-workers 2]
       [--serve-threads 4] [--worker-threads 4] [--worker-processes 1] [--connections 16]
       [--timeout 900]

Set up in a scratch instance: N cards "at risk" with one registered iPhone each
(`registered_passes`), their passes last changed a day ago; `walletpass serve` and
`walletpass worker` as subprocesses on PostgreSQL and the given Redis database (it must
be empty; it is flushed at the end); the fake APNs (app/fakes/apns.py, HTTP/2 with a
client certificate) in a child process that hands every accepted push to the device
fleet in this process. Each device, when pushed, does what Wallet does: asks which of
its passes changed (GET /passkit/v1/devices/…/registrations/…) and fetches each with
If-Modified-Since set to the Last-Modified it holds; a 200 replaces what it holds.

Printed: launch → last device holding the new pass; pushes/s and fetches/s over their
own spans; peak RSS of each process; and the check that every device holds exactly
the pass's current version (its Last-Modified equals the database's, the offer in it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from common import bench_env

REPO = Path(__file__).resolve().parents[1]
PASS_TYPE_ID = "pass.bench.walletpass.loyalty"  # noqa: S105 (not a password)
TEAM_ID = "BENCHTEAM1"
OFFER = "E2E offer {n}"  # ASCII: found as it is in the stored (not deflated) .pkpass
AUTH = "t" * 24  # the authentication token registered_passes gives every pass


# --- the fake APNs, in a process of its own ----------------------------------------------


def apns_child(conn: Connection, cert: str, key: str, client_ca: str, ready: Any) -> None:
    """Serve the fake APNs; send the tokens of accepted pushes to the parent in batches."""
    from app.fakes.apns import FakeApns, Received

    async def main() -> None:
        accepted: list[str] = []

        def heard(item: Received) -> None:
            if item.status == 200:
                accepted.append(item.token)

        fake = FakeApns(
            server_cert=Path(cert),
            server_key=Path(key),
            client_ca=Path(client_ca),
            topic=PASS_TYPE_ID,
            record=False,
            on_request=heard,
        )
        ready.send(await fake.start())
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        while not stop.is_set():
            await asyncio.sleep(0.02)
            if accepted:
                conn.send_bytes("\n".join(accepted).encode())
                accepted.clear()
        await fake.stop()

    asyncio.run(main())


# --- the device fleet ------------------------------------------------------------------------


@dataclass
class Device:
    library_id: str
    serial: str
    held: str  # Last-Modified of the pass it holds
    pushes: int = 0
    fetched: int = 0
    offer_seen: bool = False


@dataclass
class Fleet:
    host: str
    port: int
    offer: bytes
    by_token: dict[str, Device]
    queue: asyncio.Queue[Device] = field(default_factory=asyncio.Queue)
    first_push: float | None = None
    last_push: float = 0.0
    first_fetch: float | None = None
    last_fetch: float = 0.0
    pushes: int = 0
    lists: int = 0
    fetches_200: int = 0
    fetches_304: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    holding_new: int = 0
    done: asyncio.Event = field(default_factory=asyncio.Event)
    target: int = 0

    def pushed(self, tokens: list[str]) -> None:
        now = time.perf_counter()
        self.first_push = self.first_push or now
        self.last_push = now
        for token in tokens:
            device = self.by_token.get(token)
            if device is None:
                self.errors["push for an unknown token"] += 1
                continue
            self.pushes += 1
            device.pushes += 1
            self.queue.put_nowait(device)


class Http:
    """One keep-alive HTTP/1.1 connection, as little parsing as the answers need."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        for attempt in (1, 2):  # the server may have closed an idle connection
            try:
                if self.writer is None:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                assert self.reader is not None
                lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                self.writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n{lines}\r\n".encode()
                )
                head = await self.reader.readuntil(b"\r\n\r\n")
                status_line, *rest = head.decode("latin-1").split("\r\n")
                got = {}
                for line in rest:
                    if line:
                        name, _, value = line.partition(":")
                        got[name.strip().lower()] = value.strip()
                length = int(got.get("content-length", "0"))
                body = await self.reader.readexactly(length) if length else b""
                if got.get("connection", "").lower() == "close":
                    self.close()
                return int(status_line.split()[1]), got, body
            except (OSError, asyncio.IncompleteReadError):
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def device_loop(fleet: Fleet) -> None:
    http = Http(fleet.host, fleet.port)
    auth = {"Authorization": f"ApplePass {AUTH}"}
    while True:
        device = await fleet.queue.get()
        try:
            status, _, body = await http.get(
                f"/passkit/v1/devices/{device.library_id}/registrations/{PASS_TYPE_ID}", {}
            )
            fleet.lists += 1
            if status != 200 or device.serial not in json.loads(body)["serialNumbers"]:
                fleet.errors[f"list answered {status}"] += 1
                continue
            status, headers, body = await http.get(
                f"/passkit/v1/passes/{PASS_TYPE_ID}/{device.serial}",
                {**auth, "If-Modified-Since": device.held},
            )
        except (OSError, asyncio.IncompleteReadError) as exc:
            fleet.errors[type(exc).__name__] += 1
            fleet.queue.put_nowait(device)  # Wallet retries later
            await asyncio.sleep(0.1)
            continue
        now = time.perf_counter()
        if status == 304:
            fleet.fetches_304 += 1
            continue
        if status != 200:
            fleet.errors[f"pass answered {status}"] += 1
            continue
        fleet.fetches_200 += 1
        fleet.first_fetch = fleet.first_fetch or now
        fleet.last_fetch = now
        device.fetched += 1
        device.held = headers["last-modified"]
        if not device.offer_seen and fleet.offer in body:
            device.offer_seen = True
            fleet.holding_new += 1
            if fleet.holding_new == fleet.target:
                fleet.done.set()


# --- processes -----------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else 0.0


def children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(p) for p in found]


def wait_port(port: int, log: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"exited:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"did not start:\n{log.read_text()[-3000:]}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def populate(services: Any, n: int) -> tuple[str, dict[str, Device]]:
    """N registered cards "at risk", and a marketer's API token for the staff API."""
    from sqlalchemy import select, update

    from app.passes.models import AppleDevice, AppleRegistration, WalletPass
    from app.services import staff
    from app.services.programs import seed_demo
    from app.simulate.population import registered_passes

    now = datetime.now(UTC)
    day_ago = int(now.timestamp()) - 86_400
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        program.quiet_start_hour = program.quiet_end_hour = 0  # sent at once
        tokens = [f"{i:064x}" for i in range(1, n + 1)]
        pass_ids = registered_passes(session, program, tokens, now, stage="at_risk")
        session.execute(
            update(WalletPass).where(WalletPass.id.in_(pass_ids)).values(last_modified=day_ago)
        )
        marketer = staff.add_user(
            session,
            services.clock,
            email="crm@example.com",
            name="CRM",
            role="marketer",
            password="a long enough passphrase",
            actor="bench",
            programs=[program],
        )
        session.flush()
        token = staff.create_api_token(session, services.clock, marketer, "bench")
        rows = session.execute(
            select(AppleDevice.push_token, AppleDevice.library_id, WalletPass.serial_number)
            .join(AppleRegistration, AppleRegistration.device_id == AppleDevice.id)
            .join(WalletPass, WalletPass.id == AppleRegistration.pass_id)
        ).all()
    held = formatdate(day_ago, usegmt=True)
    return token, {t: Device(lib, serial, held) for t, lib, serial in rows}


def launch(port: int, token: str, offer: str, bonus: int) -> tuple[int, float]:
    body = {
        "name": "E2E",
        "offer_en": offer,
        "offer_ru": offer,
        "segment": {"stages": ["at_risk"]},
        "holdout_percent": 0,
        "bonus_points": bonus,
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/programs/demo/campaigns",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (http://)
            return int(json.loads(answer.read())["id"]), started
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"the launch answered {exc.code}: {exc.read()!r}") from None


def check(services: Any, fleet: Fleet) -> tuple[int, int]:
    """Devices holding the pass's current Last-Modified with the offer / all devices."""
    from sqlalchemy import select

    from app.passes.models import WalletPass

    with services.transaction(write=False) as session:
        rows = session.execute(select(WalletPass.serial_number, WalletPass.last_modified))
        current = {serial: int(lm) for serial, lm in rows}
    good = sum(
        1
        for d in fleet.by_token.values()
        if d.offer_seen and d.held == formatdate(current[d.serial], usegmt=True)
    )
    return good, len(fleet.by_token)


# --- the run ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--serve-workers", type=int, default=2)
    parser.add_argument("--serve-threads", type=int, default=4)
    parser.add_argument("--worker-threads", type=int, default=4)
    # Several `walletpass worker` processes on one queue, as on several machines: the
    # passes signed ahead before each push are CPU work one process's threads share.
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16, help="the fleet's connections")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--bonus-points", type=int, default=100, help="0: an offer alone")
    args = parser.parse_args()

    import redis

    queue = redis.Redis.from_url(args.redis_url)
    if queue.dbsize():
        raise SystemExit(f"{args.redis_url} is not empty; give an unused Redis database")
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        root = Path(tmp)
        from app.fakes.tls import make_server_cert
        from app.passes.apple.certs import generate_dev_chain

        apns_tls = make_server_cert(root / "apns-tls")
        chain = generate_dev_chain(root / "certs", PASS_TYPE_ID, TEAM_ID, now=datetime.now(UTC))
        here, there = multiprocessing.Pipe(duplex=False)
        ready_r, ready_w = multiprocessing.Pipe(duplex=False)
        apns = multiprocessing.get_context("fork").Process(
            target=apns_child,
            args=(there, str(apns_tls.cert), str(apns_tls.key), str(chain.root_cert), ready_w),
            daemon=True,
        )
        apns.start()
        apns_port = ready_r.recv()
        web_port = free_port()
        env = bench_env(
            root / "instance",
            WALLETPASS_DATABASE_URL=args.database_url,
            WALLETPASS_QUEUE_URL=args.redis_url,
            WALLETPASS_PUBLIC_URL=f"http://127.0.0.1:{web_port}",
            WALLETPASS_DEV_CERTS_DIR=str(root / "certs"),
            WALLETPASS_APPLE_PASS_TYPE_ID=PASS_TYPE_ID,
            WALLETPASS_APPLE_TEAM_ID=TEAM_ID,
            WALLETPASS_APNS_URL=f"https://127.0.0.1:{apns_port}",
            WALLETPASS_APNS_CA_FILE=str(apns_tls.ca_cert),
            PYTHONPATH=str(REPO),
        )
        os.environ.update(env)
        from app.bootstrap import build_services, upgrade_database
        from app.settings import Settings

        settings = Settings.from_env()
        upgrade_database(settings.database_url)
        services = build_services(settings)
        t0 = time.perf_counter()
        crm_token, devices = populate(services, args.cards)
        print(f"{args.cards} registered cards created in {time.perf_counter() - t0:.1f} s")

        procs: dict[str, subprocess.Popen[bytes]] = {}
        logs: dict[str, Path] = {}

        def start(name: str, *argv: str) -> None:
            logs[name] = root / f"{name}.log"
            with logs[name].open("wb") as out:
                procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "app.cli", *argv],
                    env={**env, "WALLETPASS_INSTANCE_DIR": str(root / name)},
                    cwd=root,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )

        peak: Counter[str] = Counter()

        def sample() -> None:
            pids = {"fleet (this process)": os.getpid(), "fake APNs": apns.pid or 0}
            pids.update({name: p.pid for name, p in procs.items()})
            for i, pid in enumerate(children(procs["serve"].pid), 1):
                pids[f"serve: gunicorn worker {i}"] = pid
            for name, pid in pids.items():
                peak[name] = max(peak[name], round(rss_mib(pid)))

        try:
            start(
                "serve",
                *("serve", "--host", "127.0.0.1", "--port", str(web_port)),
                *("--workers", str(args.serve_workers), "--threads", str(args.serve_threads)),
            )
            workers = ["worker"] + [f"worker {i}" for i in range(2, args.worker_processes + 1)]
            for name in workers:
                start(name, "worker", "--threads", str(args.worker_threads))
            wait_port(web_port, logs["serve"], procs["serve"])
            deadline = time.time() + 60
            for name in workers:
                while "consumer started" not in logs[name].read_text():
                    if time.time() > deadline or procs[name].poll() is not None:
                        raise SystemExit(logs[name].read_text()[-3000:])
                    time.sleep(0.2)
            sample()
            idle = dict(peak)
            offer = OFFER.format(n=os.getpid())
            fleet = Fleet("127.0.0.1", web_port, offer.encode(), devices, target=len(devices))
            result = asyncio.run(
                run_fleet(
                    fleet,
                    here,
                    lambda: launch(web_port, crm_token, offer, args.bonus_points),
                    sample,
                    args,
                )
            )
            good, total = check(services, fleet)
        finally:
            for p in procs.values():
                p.send_signal(signal.SIGTERM)
            for p in procs.values():
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
            if apns.pid:
                os.kill(apns.pid, signal.SIGTERM)
            apns.join(10)
            services.close()
            queue.flushdb()
        report(args, fleet, result, good, total, idle, peak, logs)


async def run_fleet(
    fleet: Fleet, pushes: Connection, launch_it: Any, sample: Any, args: argparse.Namespace
) -> dict[str, float]:
    loop = asyncio.get_running_loop()

    def readable() -> None:
        while pushes.poll():
            fleet.pushed(pushes.recv_bytes().decode().split("\n"))

    loop.add_reader(pushes.fileno(), readable)
    tasks = [asyncio.create_task(device_loop(fleet)) for _ in range(args.connections)]
    campaign_id, started = await asyncio.to_thread(launch_it)
    request_s = time.perf_counter() - started
    print(f"campaign {campaign_id} launched ({request_s * 1000:.0f} ms request)", flush=True)
    next_report = time.perf_counter() + 10
    while not fleet.done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(fleet.done.wait(), 1.0)
        await asyncio.to_thread(sample)
        now = time.perf_counter()
        if now >= next_report:
            next_report = now + 10
            print(
                f"  {now - started:6.0f} s: pushes {fleet.pushes}, fetched {fleet.fetches_200}, "
                f"holding the new pass {fleet.holding_new}/{fleet.target}",
                flush=True,
            )
        if now - started > args.timeout:
            print("TIMEOUT", flush=True)
            break
    end = time.perf_counter()
    loop.remove_reader(pushes.fileno())
    for task in tasks:
        task.cancel()
    return {"started": started, "end": end, "request_s": request_s}


def report(
    args: argparse.Namespace,
    fleet: Fleet,
    result: dict[str, float],
    good: int,
    total: int,
    idle: dict[str, int],
    peak: Counter[str],
    logs: dict[str, Path],
) -> None:
    started = result["started"]
    total_s = result["end"] - started
    push_span = fleet.last_push - (fleet.first_push or started)
    fetch_span = fleet.last_fetch - (fleet.first_fetch or started)
    print(
        f"\n{args.cards} devices; serve {args.serve_workers}x{args.serve_threads}, "
        f"{args.worker_processes} worker process(es) --threads {args.worker_threads}, "
        f"fleet {args.connections} connections, bonus "
        f"{args.bonus_points}; load "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(f"launch -> last device holding the new pass: {total_s:.1f} s")
    print(f"  first push after {(fleet.first_push or started) - started:.1f} s")
    print(
        f"  pushes accepted: {fleet.pushes} in {push_span:.1f} s "
        f"({fleet.pushes / max(push_span, 1e-9):,.0f}/s)"
    )
    print(
        f"  passes fetched (200): {fleet.fetches_200} in {fetch_span:.1f} s "
        f"({fleet.fetches_200 / max(fetch_span, 1e-9):,.0f}/s); 304s: {fleet.fetches_304}; "
        f"change lists: {fleet.lists}"
    )
    repeats = sum(1 for d in fleet.by_token.values() if d.pushes > 1)
    print(f"  devices pushed more than once: {repeats}; errors: {dict(fleet.errors) or 'none'}")
    print(f"check: {good}/{total} devices hold exactly the pass's current version with the offer")
    print("peak RSS (MiB), idle before launch -> peak during the campaign:")
    for name in sorted(peak):
        print(f"  {name:28} {idle.get(name, 0):5d} -> {peak[name]:5d}")
    problems = [
        line
        for path in logs.values()
        if path.exists()
        for line in path.read_text(errors="replace").splitlines()
        if " ERROR " in line or "Traceback" in line
    ]
    for line in problems[:10]:
        print(f"  log: {line}")
    if good != total:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
