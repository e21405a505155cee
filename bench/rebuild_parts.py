"""Seconds of each part of the analytics rebuild (app.analytics.rebuild) on a chain
`bench/dashboard.py --build-only` built, each part in its own rolled-back transaction,
and whether the part writes exactly the rows the database holds (the ones the build
wrote, maybe with an earlier version of the code).

Usage: .venv/bin/python bench/rebuild_parts.py --database-url postgresql+psycopg://...
       [--parts fill,gaps,stage_gaps,loyal,loyal_paid,stage_days,wallet]

A part's tables are emptied for the program, the part runs, and its rows are compared
with the kept ones (EXCEPT ALL both ways); then the transaction is rolled back. Also
printed: the CPU seconds of this process and of PostgreSQL's backend, steadier than
the wall clock on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.orm import Session

from app.analytics import loyal_days, rollups, stage_days, stage_gaps
from app.analytics.models import (
    KpiBuyerGap,
    KpiDay,
    KpiLoyalDay,
    KpiLoyalPaid,
    KpiStageGap,
    KpiVisit,
)

try:
    from app.analytics.rebuild import PLANNER
    from app.db import planner
except ImportError:  # a version before them (the baseline)
    from contextlib import nullcontext as _nothing

    PLANNER = {}

    def planner(session: Session, **settings: str) -> Any:
        return _nothing()


from app.loyalty.models import Program
from app.services import wallet_counts
from app.simulate.deferred_keys import deferred
from app.till.models import Receipt


def _fill(session: Session, program: Program) -> None:
    lo, hi = session.execute(
        select(func.min(Receipt.created_at), func.max(Receipt.created_at)).where(
            Receipt.program_id == program.id
        )
    ).one()
    lo, hi = rollups.aware(lo), rollups.aware(hi)
    first, last = rollups.day_of(program, lo), rollups.day_of(program, hi) + 1
    bounds = [rollups.midnight(program, d) for d in range(first, last + 1)]
    rollups._fill(session, program, rollups.day_tree(Receipt.created_at.expression, bounds, first))


def _now(session: Session, program: Program) -> Any:
    from app.analytics.models import KpiRollupState

    state = session.get(KpiRollupState, program.id)
    assert state is not None
    return rollups.aware(state.built_at)


# part -> (tables it writes, models emptied before it runs, the call)
PARTS: dict[str, tuple[tuple[str, ...], tuple[Any, ...], Callable[[Session, Program], Any]]] = {
    "fill": (("kpi_days", "kpi_visits"), (KpiVisit, KpiDay), _fill),
    "gaps": (("kpi_buyer_gaps",), (KpiBuyerGap,), rollups._fill_gaps),
    "stage_gaps": (("kpi_stage_gaps",), (KpiStageGap,), stage_gaps.fill),
    "loyal": (("kpi_loyal_days",), (KpiLoyalDay,), loyal_days.fill),
    "loyal_paid": (("kpi_loyal_paid",), (KpiLoyalPaid,), loyal_days.fill_paid),
    "stage_days": (
        ("kpi_cards", "kpi_stage_days", "kpi_cohort_days"),
        (),
        lambda s, p: stage_days.rebuild(s, p, _now(s, p)),
    ),
    "wallet": (
        ("wallet_pass_apps", "wallet_members", "wallet_counts", "wallet_event_days"),
        (),
        wallet_counts.rebuild,
    ),
}


def _differ(session: Session, table: str) -> int:
    """Rows in one of the table and its kept copy but not the other (as sets on SQLite,
    which has no EXCEPT ALL, plus the difference of the counts)."""
    op = "EXCEPT" if session.get_bind().dialect.name == "sqlite" else "EXCEPT ALL"
    kept, now = f"SELECT * FROM kept_{table}", f"SELECT * FROM {table}"  # noqa: S608
    out = 0
    for a, b in ((kept, now), (now, kept)):
        query = f"SELECT count(*) FROM ({a} {op} {b}) d"  # noqa: S608 - our table names
        out += int(session.scalar(text(query)) or 0)
    sizes = [session.scalar(text(f"SELECT count(*) FROM ({q}) d")) for q in (kept, now)]  # noqa: S608
    return out + abs(int(sizes[0] or 0) - int(sizes[1] or 0))


def _cpu(backend: int) -> float:
    """CPU seconds of this process and of the database server's backend (``backend``,
    PostgreSQL on this machine), which the machine's other load moves less than the
    wall clock."""
    ours = time.process_time()
    if not backend:
        return ours
    fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
    return ours + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument(
        "--deferred",
        action="store_true",
        help="the part's tables without their foreign keys and indexes, built after it"
        " (as at the end of simulate --bulk; the builds are timed with the part)",
    )
    args = parser.parse_args()
    engine = create_engine(args.database_url)
    pg = engine.dialect.name == "postgresql"
    for name in args.parts.split(","):
        tables, emptied, call = PARTS[name]
        with Session(engine) as session:
            program = session.scalar(select(Program).where(Program.slug == "demo"))
            assert program is not None
            for table in tables:
                kept = f"CREATE TEMP TABLE kept_{table} AS SELECT * FROM {table}"  # noqa: S608
                session.execute(text(kept))
            for model in emptied:
                session.execute(delete(model).where(model.program_id == program.id))
            backend = int(session.scalar(text("SELECT pg_backend_pid()")) or 0) if pg else 0
            cpu0, t0 = _cpu(backend), time.perf_counter()
            keys = deferred(session, tables) if args.deferred else nullcontext()
            with keys, planner(session, **PLANNER):  # as the rebuild runs them
                call(session, program)
                session.flush()
            seconds = time.perf_counter() - t0
            cpu = _cpu(backend) - cpu0
            wrong = {t: _differ(session, t) for t in tables}
            print(f"{name}: {seconds:.1f} s ({cpu:.1f} s CPU), rows differing: {wrong}", flush=True)
            session.rollback()


if __name__ == "__main__":
    main()
