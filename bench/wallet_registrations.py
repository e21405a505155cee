"""What keeping the wallet counts costs a registration: phones registering cards of one
program through ``passkit.register`` (one transaction each, in process), from 1 and
from several threads at once, each with its own connection.

Usage: .venv/bin/python bench/wallet_registrations.py --database-url postgresql+psycopg://...
       [--cards 2000] [--threads 1,8]

The database must be empty (it is migrated). Run it on two databases with two checkouts
(before and after a change) to compare: the script uses only ``passkit.register``. Every
registration is a card's first (the card arrives in the app: all its counters move).
Printed: registrations per second and median milliseconds per registration, per
thread count.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import scratch_services


def register_all(
    services: Any, refs: list[Any], threads: int, name: str
) -> tuple[float, list[float]]:
    """Each pass registered on a new phone, by ``threads`` threads at once; returns the
    wall seconds and each registration's seconds."""
    from app.services import passkit

    times: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work(part: list[Any], worker: int) -> None:
        start.wait()
        mine = []
        for i, ref in enumerate(part):
            who = passkit.Registrant(f"{name}-w{worker}-{i}", f"{worker:02x}" * 32)
            t0 = time.perf_counter()
            with services.transaction() as session:
                passkit.register(session, services.clock, ref, who)
            mine.append(time.perf_counter() - t0)
        with lock:
            times.extend(mine)

    parts = [refs[w::threads] for w in range(threads)]
    pool = [threading.Thread(target=work, args=(p, w)) for w, p in enumerate(parts)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - t0, times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--threads", default="1,8")
    args = parser.parse_args()
    counts = [int(n) for n in args.threads.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        _settings, services = scratch_services(Path(tmp), args.database_url)
        from sqlalchemy import delete, select

        from app.loyalty.models import Card
        from app.passes.models import AppleRegistration, WalletPass
        from app.services import passkit
        from app.services.programs import seed_demo
        from app.simulate.population import registered_passes

        with services.transaction() as session:
            program = seed_demo(session, services.clock)
            tokens = [f"{i:064x}" for i in range(args.cards * len(counts))]
            registered_passes(session, program, tokens, datetime.now(UTC))
            session.execute(delete(AppleRegistration))  # the cards in no wallet yet
            refs = [
                passkit.PassRef(p.id, p.card_id, p.serial_number, p.last_modified)
                for p in session.scalars(
                    select(WalletPass)
                    .join(Card, Card.id == WalletPass.card_id)
                    .order_by(WalletPass.id)
                )
            ]
        try:  # the counts a newer checkout keeps: start them from the tables
            from app.services import wallet_counts

            with services.transaction() as session:
                wallet_counts.rebuild(session, program)
        except ImportError:
            pass
        for round_no, threads in enumerate(counts):
            batch = refs[round_no * args.cards : (round_no + 1) * args.cards]
            wall, times = register_all(services, batch, threads, f"r{round_no}")
            print(
                f"{threads} thread(s): {len(batch) / wall:,.0f} registrations/s, "
                f"median {statistics.median(times) * 1000:.2f} ms, "
                f"p95 {sorted(times)[int(len(times) * 0.95)] * 1000:.2f} ms"
            )
        services.close()


if __name__ == "__main__":
    main()
