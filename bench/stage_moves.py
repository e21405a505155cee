"""How long the daily job's move of the per-stage gap rows (``stage_gaps.move``) takes
when it changes the stage of many members at once: N members who bought (default
20 000, spread over the ids) move to the next stage, then back, in one transaction
rolled back at the end. After each move the year's per-stage buyers, receipts and money
from the gap rows must equal those from the visit rows joined to the members' stored
stages (what the per-stage table read before; its seconds are printed too).

Usage: .venv/bin/python bench/stage_moves.py --database-url postgresql+psycopg://...
       [--moved 20000]

The database holds a chain built by ``bench/dashboard.py --build-only`` (it is migrated
first). Printed per move: seconds of writing the members' stages (the job's own
update, for scale), of the move, and of the year's read both ways.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from common import built_chain


def from_visits(session: Any, program: Any, days: tuple[int, int]) -> dict[str, tuple[int, ...]]:
    """The per-stage figures of the local days from the visit rows and members."""
    from sqlalchemy import and_, case, func, or_, select

    from app.analytics.models import KpiVisit as V
    from app.loyalty.models import Card, Member

    new = and_(V.day_first, or_(V.prev_day.is_(None), V.prev_day < days[0]))
    rows = session.execute(
        select(Member.stage, func.sum(case((new, 1), else_=0)), func.sum(V.n), func.sum(V.due))
        .select_from(V)
        .join(Card, Card.id == V.card_id)
        .join(Member, Member.id == Card.member_id)
        .where(V.program_id == program.id, V.day >= days[0], V.day < days[1])
        .group_by(Member.stage)
    )
    return {stage: (int(b), int(n), int(due)) for stage, b, n, due in rows if stage is not None}


def main() -> None:
    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--moved", type=int, default=20_000, help="members moved")

    with built_chain(__doc__, options) as chain:
        from sqlalchemy import select, update

        from app.analytics import stage_gaps
        from app.analytics.lifecycle import STAGES
        from app.analytics.models import KpiCard
        from app.loyalty.models import Card, Member

        session, program = chain.session, chain.program
        buyers = session.execute(
            select(Member.id, Member.stage)
            .join(Card, Card.member_id == Member.id)
            .join(KpiCard, KpiCard.card_id == Card.id)
            .where(Member.program_id == program.id, Member.stage.is_not(None))
            .order_by(Member.id)
        ).all()
        picked = buyers[:: max(1, len(buyers) // chain.args.moved)][: chain.args.moved]
        ahead = [(m, old, STAGES[(STAGES.index(old) + 1) % len(STAGES)]) for m, old in picked]
        back = [(m, new, old) for m, old, new in ahead]
        year = chain.views()["year view (52 weeks)"]
        try:
            for name, moved in (("to the next stage", ahead), ("back", back)):
                t0 = time.perf_counter()
                session.execute(update(Member), [{"id": m, "stage": new} for m, _, new in moved])
                session.flush()
                written = time.perf_counter() - t0
                t0 = time.perf_counter()
                stage_gaps.move(session, program, moved)
                took = time.perf_counter() - t0
                t0 = time.perf_counter()
                kept = stage_gaps.by_stage(session, program, year)
                read = time.perf_counter() - t0
                t0 = time.perf_counter()
                joined = from_visits(session, program, year)
                baseline = time.perf_counter() - t0
                assert kept == joined, (kept, joined)
                print(
                    f"{len(moved)} members {name}: stages written {written:.2f} s, "
                    f"gap rows moved {took:.2f} s; the year per stage {read:.3f} s "
                    f"from the gap rows, {baseline:.2f} s from the visits (same figures)"
                )
        finally:
            session.rollback()


if __name__ == "__main__":
    main()
