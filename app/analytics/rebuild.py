"""Every rollup of a program rebuilt from its receipts and members."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.analytics import rollups, stage_days
from app.db import planner
from app.loyalty.models import Program

PLANNER = {"jit": "off", "enable_indexscan": "off"}  # PostgreSQL's, for the rebuild


def rebuild(session: Session, program: Program, now: datetime) -> str:
    """Returns what was written, for the operator."""
    # The rebuild reads whole tables. JIT compiling its nested CASEs of midnights cost
    # more than running them (33 s for 8 s of work in the stage counts' statement at
    # 200 000 members), and the planner's index scans of the receipts by card fetch
    # the rows in random order (24 s where a scan and a sort take 2.5-7 s).
    with planner(session, **PLANNER):
        days, visits = rollups.rebuild(session, program, now)
        stages = stage_days.rebuild(session, program, now)
    for table in (
        "kpi_days",
        "kpi_visits",
        "kpi_buyer_gaps",
        "kpi_stage_gaps",
        "kpi_cards",
        "kpi_cohort_days",
        "kpi_stage_days",
        "kpi_loyal_days",
        "kpi_loyal_paid",
    ):
        session.execute(text(f"ANALYZE {table}"))  # planner statistics for fresh tables
    return f"{days} day rows, {visits} visit rows, stage counts at {stages} midnights"
