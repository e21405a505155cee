"""Every rollup of a program rebuilt from its receipts and members."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.analytics import rollups, stage_days
from app.loyalty.models import Program


def rebuild(session: Session, program: Program, now: datetime) -> str:
    """Returns what was written, for the operator."""
    if session.get_bind().dialect.name == "postgresql":
        # The rebuild's statements carry nested CASEs of hundreds of midnights; JIT
        # compiling them took longer than running them (30 s of the stage counts'
        # statement at 200 000 members). Until the caller's transaction ends.
        session.execute(text("SET LOCAL jit = off"))
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
