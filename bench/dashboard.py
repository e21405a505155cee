"""How long the console dashboard's figures take for a year of a chain's history: the
period's figures, the weekly chart series and the per-store table as the dashboard
now gets them (one ``kpis_series`` read for the weeks and the period, the stores
summed by the database) against the same-run baseline of one ``kpis()`` call for the
period, per week and per store (what it did before).

Usage: .venv/bin/python bench/dashboard.py [--members 20000] [--receipts 200000]
       [--stores 100] [--database-url postgresql+psycopg://...]

A scratch SQLite database (or an empty PostgreSQL database given by URL) gets the
simulated chain of `walletpass simulate --bulk` (members enrolled over two years, receipts
over the last year, a fifth without a card, spread over the stores), and the planner
statistics the daily job gathers. Printed: the
median seconds of the batched reads (3 rounds), the baseline's seconds, their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import scratch_services

YEAR_END = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
BATCH = 10_000
# The tables the dashboard reads.
VACUUMED = (
    "members",
    "cards",
    "receipts",
    "kpi_days",
    "kpi_visits",
    "kpi_cards",
    "kpi_stage_days",
    "kpi_buyer_gaps",
    "kpi_stage_gaps",
    "kpi_cohort_days",
    "wallet_passes",
    "apple_registrations",
    "apple_devices",
    "google_objects",
    "wallet_app_events",
)


def populate(services: object, members: int, receipts: int, stores: int) -> int:
    """The chain from `walletpass simulate --bulk` (seed 1), ending at YEAR_END; an
    existing chain in the database (a kept one, `--keep`) is used as it is."""
    global YEAR_END  # a kept chain's own end
    from sqlalchemy import func, select

    from app.analytics.models import KpiRollupState
    from app.analytics.rebuild import rebuild
    from app.loyalty.models import Program
    from app.services.programs import seed_demo
    from app.simulate import bulk, model
    from app.till.models import Receipt

    spec = model.Spec(1, members, receipts, stores, 365, YEAR_END, campaigns=0)
    with services.transaction() as session:  # type: ignore[attr-defined]
        program = session.scalar(select(Program).where(Program.slug == "demo"))
        if program is not None:
            have = session.scalar(select(func.count()).where(Receipt.program_id == program.id))
            last = session.scalar(select(func.max(Receipt.created_at)))
            YEAR_END = datetime.combine(last.date() + timedelta(days=1), datetime.min.time(), UTC)
            print(f"using the chain already in the database ({have} receipts, to {YEAR_END})")
            if session.get(KpiRollupState, program.id) is None:  # a chain built before them
                t0 = time.perf_counter()
                now = services.clock.now()  # type: ignore[attr-defined]
                done = rebuild(session, program, now)
                print(f"rollups rebuilt: {done} in {time.perf_counter() - t0:.1f} s")
            return program.id
        program = seed_demo(session, services.clock)  # type: ignore[attr-defined]
        result = bulk.simulate(session, services.clock, program, spec)  # type: ignore[attr-defined]
        print(f"simulated in {result.seconds:.1f} s ({result.receipts_per_s:,.0f} receipts/s)")
        return program.id


def view_times(session: Any, program: Any, start: datetime, end: datetime) -> dict[str, float]:
    """Seconds of each read the console's dashboard view makes for [start, end)."""
    from app.analytics.invites import funnel
    from app.analytics.kpis import kpis_by_stage, kpis_by_store, kpis_series
    from app.services import wallet_stats
    from app.services.seed_kpis import seed_kpis

    weeks = []
    day = start
    while day < end:
        weeks.append((day, min(day + timedelta(days=7), end)))
        day += timedelta(days=7)
    calls: list[tuple[str, Callable[[], Any]]] = [
        (
            "kpis_series (weeks + period)",
            lambda: kpis_series(session, program, [*weeks, (start, end)]),
        ),
        ("kpis_by_store", lambda: kpis_by_store(session, program, start, end, total[0])),
        ("kpis_by_stage", lambda: kpis_by_stage(session, program, start, end)),
        ("seed_kpis", lambda: seed_kpis(session, program, start, end)),
        ("wallet_stats.figures", lambda: wallet_stats.figures(session, program.id, (start, end))),
        (
            "wallet_stats.event_counts",
            lambda: wallet_stats.event_counts(session, program.id, weeks),
        ),
        ("invite funnel", lambda: funnel(session, program.id, start, end)),
    ]
    total: list[Any] = [None]
    out = {}
    for part, call in calls:
        t0 = time.perf_counter()
        found = call()
        out[part] = time.perf_counter() - t0
        if total[0] is None:
            total[0] = found[-1]  # the period's figures, as the view passes them on
    return out


def sections(services: Any, program_id: int, rounds: int) -> None:
    """Every read of the console dashboard's view (what ``dashboard()`` calls), for the
    default view (30 days) and the year, timed one by one; then a segment's size and a
    campaign's audience snapshot (rolled back)."""
    from app.analytics.rollups import day_of, midnight
    from app.loyalty.models import Program
    from app.services import campaigns

    with services.transaction(write=False) as session:
        program = session.get(Program, program_id)
        # The console's periods run from local midnight to local midnight.
        last = day_of(program, YEAR_END) + 1
        views = {
            "default view (30 days)": (midnight(program, last - 30), midnight(program, last)),
            "year view (52 weeks)": (midnight(program, last - 364), midnight(program, last)),
        }
    for name, (start, end) in views.items():
        times: dict[str, list[float]] = {}
        for _ in range(rounds):
            with services.transaction(write=False) as session:
                program = session.get(Program, program_id)
                program.stores  # noqa: B018  (loaded before the clock starts)
                for part, seconds in view_times(session, program, start, end).items():
                    times.setdefault(part, []).append(seconds)
        whole = sum(statistics.median(t) for t in times.values())
        print(f"{name}: {whole:.2f} s in all (median of {rounds})")
        for part, t in times.items():
            print(f"    {part:30} {statistics.median(t):6.2f} s")
    segment = {"stages": ["at_risk"]}
    with services.transaction(write=False) as session:
        program = session.get(Program, program_id)
        t0 = time.perf_counter()
        size = campaigns.segment_size(session, program, segment, YEAR_END)
        print(f"segment size (at risk, in a wallet): {size} in {time.perf_counter() - t0:.2f} s")
    session = services.write_sessions()
    try:
        program = session.get(Program, program_id)
        draft = campaigns.Draft(name="Snapshot", offer_en="-20 %", offer_ru="-20 %", segment={})
        campaign = campaigns.create(session, services.clock, program, draft, "bench")
        session.flush()
        t0 = time.perf_counter()
        n = campaigns.select_targets(session, services.clock, campaign.id)
        seconds = time.perf_counter() - t0
        print(f"audience snapshot (every card in a wallet): {n} targets in {seconds:.1f} s")
    finally:
        session.rollback()
        session.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--receipts", type=int, default=200_000)
    parser.add_argument("--stores", type=int, default=100)
    parser.add_argument("--database-url")
    parser.add_argument("--rounds", type=int, default=3, help="timed runs of the batched reads")
    parser.add_argument(
        "--skip-baseline", action="store_true", help="no one-kpis()-per-window run (hours at 1 M)"
    )
    parser.add_argument("--build-only", action="store_true", help="build the chain and stop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings, services = scratch_services(Path(tmp), args.database_url)
        from app.analytics.kpis import kpis, kpis_by_store, kpis_series
        from app.db import refresh_statistics
        from app.loyalty.models import Program

        started = time.perf_counter()
        program_id = populate(services, args.members, args.receipts, args.stores)
        with services.transaction() as session:
            refresh_statistics(session)  # as the daily job leaves the database
        kind = settings.database_url.split(":")[0]
        if kind.startswith("postgresql"):
            # What autovacuum does after a bulk load (it is off on some hosts, this
            # machine's among them): the visibility map lets counts over the members'
            # and the visits' indexes skip the table.
            t0 = time.perf_counter()
            with services.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {', '.join(VACUUMED)}")
            print(f"vacuumed in {time.perf_counter() - t0:.1f} s")
        print(
            f"{args.members} members, {args.receipts} receipts, {args.stores} stores "
            f"ready in {time.perf_counter() - started:.1f} s ({kind})"
        )
        if args.build_only:
            services.close()
            return
        sections(services, program_id, args.rounds)
        if args.skip_baseline:
            services.close()
            return
        first = YEAR_END - timedelta(weeks=52)
        weeks = [(first + timedelta(weeks=i), first + timedelta(weeks=i + 1)) for i in range(52)]
        year = (first, YEAR_END)
        with services.transaction(write=False) as session:
            program = session.get(Program, program_id)
            assert program is not None
            program.stores  # noqa: B018  (loaded before the clock starts)
            month = (YEAR_END - timedelta(days=30), YEAR_END)  # the dashboard's default view
            month_weeks = [(max(s, month[0]), e) for s, e in weeks if e > month[0]]
            year_runs, month_runs = [], []
            for _ in range(args.rounds):  # interleaved: this VM's speed drifts
                t0 = time.perf_counter()
                *series, total = kpis_series(session, program, [*weeks, year])
                by_store = kpis_by_store(session, program, *year, total)
                year_runs.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                *_, month_total = kpis_series(session, program, [*month_weeks, month])
                kpis_by_store(session, program, *month, month_total)
                month_runs.append(time.perf_counter() - t0)
            batched, default_view = statistics.median(year_runs), statistics.median(month_runs)
            t0 = time.perf_counter()
            one_by_one = [kpis(session, program, s, e) for s, e in weeks]
            alone = kpis(session, program, *year)
            per_store = {s.id: kpis(session, program, *year, store_id=s.id) for s in program.stores}
            baseline = time.perf_counter() - t0
            # The same figures both ways.
            assert series == one_by_one and total == alone and by_store == per_store
        services.close()
    print(f"year + 52 weeks + {args.stores} stores, batched:  {batched:6.2f} s (median)")
    print(f"year + 52 weeks + {args.stores} stores, one each: {baseline:6.2f} s (baseline)")
    print(f"ratio: {baseline / batched:.1f}x faster")
    print(f"the default view (last 30 days by week, {args.stores} stores): {default_view:.2f} s")
    print("runs: year " + " ".join(f"{t:.2f}" for t in year_runs), end="; ")
    print("30 days " + " ".join(f"{t:.2f}" for t in month_runs))


if __name__ == "__main__":
    main()
