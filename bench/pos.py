"""Till throughput and latency: 32 terminals recording purchases, on PostgreSQL.

Usage: .venv/bin/python bench/pos.py [--seconds 20] [--rate 2] [--workers 2] [--threads 8]
       (WALLETPASS_TEST_DATABASE_URL or postgresql+psycopg://postgres@127.0.0.1:5432/test)

Creates a scratch database on the server, 2 000 cards with points and 32 terminals,
and starts the service under gunicorn. Purchases carry fresh receipt ids for random
cards; one in five also pays 10 points. Two measurements:
  paced      32 terminals, each starting a purchase every 1/rate seconds on a fixed
             schedule (open loop; latency counted from the scheduled start, so a slow
             server cannot hide its queueing). The default, one purchase every 2 s at
             every till, is some 30x a busy store's peak. Target: p99 < 50 ms.
  saturated  wrk with 32 connections sending back to back: the capacity, and the
             latency when every till waits on every other.
The same server's bare Flask route under the same wrk load is the same-run baseline.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

from common import bench_env, serve_app, start_server, wrk
from sqlalchemy import create_engine, make_url, text

PORT = 8766
CARDS = 2000
TERMINALS = 32

LUA = """
local keys = {KEYS}
local codes = {CODES}
local key
local n = 0
local id = 0
setup = function(thread)
  id = id + 1
  thread:set("tid", id)
end
init = function(args)
  key = keys[tid]
  math.randomseed(tid * 7919)
end
request = function()
  n = n + 1
  local body = string.format('{"receipt_id": "t%d-%d", "amount": %d, "barcode": "%s"%s}',
    tid, n, math.random(5000, 1500000), codes[math.random(#codes)],
    (n % 5 == 0) and ', "redeem_points": 10' or "")
  return wrk.format("POST", "/api/pos/v1/purchases",
    {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}, body)
end
"""


def prepare(url: str) -> tuple[list[str], list[str]]:
    from app.bootstrap import build_services, upgrade_database
    from app.loyalty import ledger
    from app.services import enrollment, terminals
    from app.services.programs import seed_demo
    from app.settings import Settings

    upgrade_database(url)
    services = build_services(Settings.from_env())
    codes, keys = [], []
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        now = services.clock.now()
        for i in range(CARDS):
            form = enrollment.EnrollmentForm(name=f"B{i}", phone=f"+7901{i:07d}", consent=True)
            card = enrollment.enroll(
                session, services.clock, program, enrollment.validate(form, program, now.date())
            )
            ledger.credit(
                session,
                card,
                points=100_000,
                kind="adjust",
                now=now,
                valid_days=None,
                reference="b",
            )
            codes.append(f"{card.number}-{card.barcode_secret}")
        for i in range(TERMINALS):
            keys.append(terminals.add_terminal(session, services.clock, program, f"T{i}")[1])
    services.close()
    random.shuffle(codes)
    return codes, keys


def paced(
    port: int, keys: list[str], codes: list[str], rate: float, seconds: float
) -> tuple[float, list[float], int]:
    """Open-loop load: every terminal starts a purchase every 1/rate s on schedule."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    start = time.perf_counter() + 0.5

    def terminal(tid: int, key: str) -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        rnd = random.Random(tid)
        k = 0
        while True:
            due = start + tid / (rate * len(keys)) + k / rate  # terminals spread out
            if due > start + seconds:
                break
            time.sleep(max(0.0, due - time.perf_counter()))
            body = {
                "receipt_id": f"p{tid}-{k}",
                "amount": rnd.randint(5000, 1_500_000),
                "barcode": rnd.choice(codes),
            }
            if k % 5 == 4:
                body["redeem_points"] = 10
            conn.request(
                "POST",
                "/api/pos/v1/purchases",
                json.dumps(body),
                {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            took = (time.perf_counter() - due) * 1000
            with lock:
                latencies.append(took)
                errors += response.status != 201
            k += 1
        conn.close()

    threads = [threading.Thread(target=terminal, args=(i, key)) for i, key in enumerate(keys)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / seconds, sorted(latencies), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=0.5, help="purchases/s per till (paced)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        os.environ.update(bench_env(args.serve, WALLETPASS_DATABASE_URL=os.environ["BENCH_DB"]))
        serve_app(workers=args.workers, threads=args.threads, port=PORT)
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    base_url = os.environ.get(
        "WALLETPASS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    name = f"walletpass_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            env = bench_env(root, WALLETPASS_DATABASE_URL=db_url, BENCH_DB=db_url)
            os.environ.update(env)
            codes, keys = prepare(db_url)
            script = root / "pos.lua"
            script.write_text(
                LUA.replace("{KEYS}", "{" + ",".join(f'"{k}"' for k in keys) + "}").replace(
                    "{CODES}", "{" + ",".join(f'"{c}"' for c in codes) + "}"
                )
            )
            server = start_server(
                __file__,
                [
                    "--serve",
                    str(root),
                    "--workers",
                    str(args.workers),
                    "--threads",
                    str(args.threads),
                ],
                env,
                PORT,
                cpus=None,
            )
            try:
                base = f"http://127.0.0.1:{PORT}"
                warm = dict(threads=TERMINALS, connections=TERMINALS, script=script)
                wrk(f"{base}/", 2, **warm)  # type: ignore[arg-type]
                paced_rate, latencies, paced_errors = paced(
                    PORT, keys, codes, args.rate, args.seconds
                )
                pos = wrk(f"{base}/", args.seconds, **warm)  # type: ignore[arg-type]
                bare = wrk(f"{base}/bench/bare", args.seconds, threads=4, connections=TERMINALS)
            finally:
                server.terminate()
                server.wait(timeout=10)
            with create_engine(db_url).connect() as conn:
                receipts = conn.execute(text("SELECT count(*) FROM receipts")).scalar()
                bad = conn.execute(
                    text(
                        "SELECT count(*) FROM cards c WHERE c.balance <> "
                        "(SELECT coalesce(sum(points), 0) FROM ledger_entries e "
                        "WHERE e.card_id = c.id)"
                    )
                ).scalar()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    print(f"gunicorn {args.workers}x{args.threads} threads, PostgreSQL, {TERMINALS} terminals")
    print(
        f"  paced     {paced_rate:6.0f} purchases/s  p50 {pct(0.5):6.1f} ms"
        f"  p99 {pct(0.99):6.1f} ms"
        f"  max {latencies[-1]:6.1f} ms  errors {paced_errors}  ({args.rate:g}/s per terminal)"
    )
    print(
        f"  saturated {pos.requests_per_s:6.0f} purchases/s  p50 {pos.p50_ms:6.1f} ms"
        f"  p99 {pos.p99_ms:6.1f} ms  errors {pos.errors}"
    )
    print(
        f"  saturated {bare.requests_per_s:6.0f} bare Flask/s  p50 {bare.p50_ms:6.1f} ms"
        f"  p99 {bare.p99_ms:6.1f} ms  (same server, same load)"
    )
    print(
        f"  saturated purchases/bare {pos.requests_per_s / bare.requests_per_s:.0%}; "
        f"receipts stored {receipts}; cards whose balance differs from their ledger: {bad}"
    )


if __name__ == "__main__":
    main()
