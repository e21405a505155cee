"""Does the campaign report tell the truth? Seeded simulated chains, each with one
campaign whose true effect is known, and the report as the console shows it.

For each seed `walletpass simulate --bulk` writes a small chain into a scratch SQLite
database (or the empty PostgreSQL database given by URL); its campaign gives every
target outside the holdout one extra purchase with a known probability and basket, so
the true effect is the expected extra revenue per targeted card in the report's 14-day
window (``SimulatedEffect.uplift_per_card``, minor units) -- the unit of the report's
``uplift_per_card``. The report is ``campaigns.report`` (what the console and the staff
API call). Printed: per seed the estimate, its 95 % interval and the truth, then how
many intervals hold the truth (target: at least 17 of 20).

Usage: .venv/bin/python bench/report_truth.py [--seeds 20] [--first-seed 1000]
       [--members 2000] [--receipts 20000] [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from common import scratch_services

END = datetime(2026, 11, 30, 18, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--receipts", type=int, default=20_000)
    parser.add_argument("--stores", type=int, default=10)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings, services = scratch_services(Path(tmp), args.database_url)
        from sqlalchemy import select

        from app.campaigns.models import Campaign, SimulatedEffect
        from app.services import campaigns
        from app.services.programs import seed_demo
        from app.simulate import bulk, model

        hits = 0
        print(
            f"{args.members} members, {args.receipts} receipts, {args.days} days a chain "
            f"({settings.database_url.split(':')[0]}); minor units per targeted card"
        )
        print(" seed  targets holdout   estimate            95 % interval       truth  holds")
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            spec = model.Spec(
                seed, args.members, args.receipts, args.stores, args.days, END, campaigns=1
            )
            t0 = time.perf_counter()
            with services.transaction() as session:
                program = seed_demo(session, services.clock)
                bulk.simulate(session, services.clock, program, spec)
            with services.transaction(write=False) as session:
                campaign = session.scalars(select(Campaign).order_by(Campaign.id.desc())).first()
                assert campaign is not None
                truth = session.get(SimulatedEffect, campaign.id)
                assert truth is not None
                report = campaigns.report(session, campaign)
            low, high = report.ci95
            holds = low <= truth.uplift_per_card <= high
            hits += holds
            print(
                f"{seed:5d} {report.targets.cards:8d} {report.holdout.cards:7d} "
                f"{report.uplift_per_card:10.0f}  [{low:10.0f}, {high:10.0f}] "
                f"{truth.uplift_per_card:10.0f}  {'yes' if holds else 'NO '}"
                f"  ({time.perf_counter() - t0:.1f} s)"
            )
        services.close()
    print(f"the 95 % interval holds the true effect in {hits} of {args.seeds} chains")


if __name__ == "__main__":
    main()
