"""How long the daily job's move of the per-stage gap rows (``stage_gaps.move``) takes
when it changes the stage of many members at once: N members who bought (default
20 000, spread over the ids) move to the next stage, then back, in one transaction
rolled back at the end. After each move the year's per-stage buyers, receipts and money
from the gap rows must equal those from the visit rows joined to the members' stored
stages (what the per-stage table read before; its seconds are printed too).

Then the whole daily job, ``lifecycle.refresh_stages``, on the first day after the chain
(the simulated stages are not the computed ones: many members move) and on the day
after (a normal day's moves), set-based as it is now and as the ORM loop over every
member it was before (kept here as ``refresh_before``), each in a transaction rolled
back; both must move the same members and write the same transitions and stages (and,
with ``--win-back``, a running win-back campaign targets the same cards).

Usage: .venv/bin/python bench/stage_moves.py --database-url postgresql+psycopg://...
       [--moved 20000] [--skip-moves] [--skip-before] [--win-back]

The database holds a chain built by ``bench/dashboard.py --build-only`` (it is migrated
first). Printed per move: seconds of writing the members' stages (the job's own
update, for scale), of the move, and of the year's read both ways. Per day of the
job: members moved, seconds in all and of its parts.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
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


def refresh_before(session: Any, clock: Any, program: Any, parts: dict[str, float]) -> list[Any]:
    """The job as it was before it went set-based (8cbbe08): every member's stage from
    ``member_stages`` compared in an ORM loop over all members; ``parts`` gets the
    seconds of its steps."""
    from sqlalchemy import select

    from app.analytics import stage_days, stage_gaps
    from app.analytics.kpis import member_stages
    from app.loyalty.models import Member, StageTransition
    from app.services import campaigns

    t0 = time.perf_counter()
    now = clock.now()
    stages = member_stages(session, program, now)
    parts["member_stages (SQL + stage() per member)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    moved = []
    for member in session.scalars(select(Member).where(Member.program_id == program.id)):
        new = stages.get(member.id)
        if new is None or new == member.stage:
            continue
        moved.append((member.id, member.stage, new))
        session.add(
            StageTransition(member_id=member.id, from_stage=member.stage, to_stage=new, at=now)
        )
        if new == "at_risk" and member.stage is not None and member.card is not None:
            campaigns.fire_trigger(session, clock, program.id, "win_back", member.card.id)
        member.stage, member.stage_since = new, now
    parts["ORM loop over the members (+ win-back)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    session.flush()
    parts["flush"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    stage_gaps.move(session, program, moved)
    parts["stage_gaps.move"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    stage_days.refresh(session, program, now)
    parts["stage_days.refresh"] = time.perf_counter() - t0
    return sorted(moved)


@contextmanager
def timed(parts: dict[str, float]) -> Iterator[None]:
    """Time the job's calls of ``stage_gaps.move_listed`` and ``stage_days.refresh`` into
    parts (the ORM loop reaches the former through ``stage_gaps.move``)."""
    from app.analytics import stage_days, stage_gaps

    real = {"move_listed": stage_gaps.move_listed, "refresh": stage_days.refresh}

    def clocked(module: Any, name: str, label: str) -> None:
        def call(*args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return real[name](*args)
            finally:
                parts[label] = time.perf_counter() - t0

        setattr(module, name, call)

    clocked(stage_gaps, "move_listed", "stage_gaps.move")
    clocked(stage_days, "refresh", "stage_days.refresh")
    try:
        yield
    finally:
        stage_gaps.move_listed = real["move_listed"]  # type: ignore[assignment]
        stage_days.refresh = real["refresh"]  # type: ignore[assignment]


def win_back(session: Any, clock: Any, program: Any) -> int:
    """A running win-back campaign (no holdout): the job then messages the members it
    moves into "at risk"."""
    from app.services import campaigns

    draft = campaigns.Draft(
        name="Come back",
        offer_en="-20 %",
        offer_ru="-20 %",
        segment={},
        holdout_percent=0,
        trigger="win_back",
    )
    campaign = campaigns.create(session, clock, program, draft, "bench")
    session.flush()
    return int(campaign.id)


def whole_job(chain: Any, skip_before: bool) -> None:
    """refresh_stages on the first day after the chain and the next, both ways."""
    from sqlalchemy import func, select

    from app.analytics import rollups
    from app.campaigns.models import CampaignTarget
    from app.clock import FixedClock
    from app.loyalty.models import Member, StageTransition
    from app.services import lifecycle

    session, program = chain.session, chain.program
    first = rollups.midnight(program, chain.end_day) + timedelta(hours=3)
    runs = [("now (set-based)", None)]
    if not skip_before:
        runs.insert(0, ("before (ORM loop)", refresh_before))
    results = []
    for name, before in runs:
        outcome = []
        try:
            campaign = (
                win_back(session, FixedClock(first), program) if chain.args.win_back else None
            )
            for day, at in (("first day", first), ("next day", first + timedelta(days=1))):
                clock = FixedClock(at)
                parts: dict[str, float] = {}
                t0 = time.perf_counter()
                if before is not None:
                    moved = before(session, clock, program, parts)
                else:
                    with timed(parts):
                        moved = lifecycle.refresh_stages(session, clock, program)
                session.flush()
                took = time.perf_counter() - t0
                written = session.execute(
                    select(
                        StageTransition.member_id,
                        StageTransition.from_stage,
                        StageTransition.to_stage,
                    )
                    .where(StageTransition.at == at)
                    .order_by(StageTransition.member_id)
                ).all()
                counts = dict(
                    session.execute(
                        select(Member.stage, func.count())
                        .where(Member.program_id == program.id)
                        .group_by(Member.stage)
                    ).all()
                )
                assert [tuple(r) for r in written] == moved
                targets = session.scalars(
                    select(CampaignTarget.card_id)
                    .where(CampaignTarget.campaign_id == campaign)
                    .order_by(CampaignTarget.card_id)
                ).all()
                outcome.append((moved, counts, targets))
                rest = took - sum(parts.values())
                messaged = f", {len(targets)} win-back targets so far" if campaign else ""
                print(f"refresh_stages {name}, {day}: {len(moved)} moved{messaged} in {took:.2f} s")
                for part, seconds in parts.items():
                    print(f"    {part:44} {seconds:6.2f} s")
                if before is None:
                    print(f"    {'moved found and written (SQL)':44} {rest:6.2f} s")
        finally:
            session.rollback()
        results.append(outcome)
    assert all(r == results[0] for r in results), "the two ways moved different members"


def main() -> None:
    def options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--moved", type=int, default=20_000, help="members moved")
        parser.add_argument("--skip-moves", action="store_true", help="only the whole job")
        parser.add_argument("--skip-before", action="store_true", help="no ORM-loop run")
        parser.add_argument("--win-back", action="store_true", help="a win-back campaign runs")

    with built_chain(__doc__, options) as chain:
        if not chain.args.skip_moves:
            moves(chain)
        whole_job(chain, chain.args.skip_before)


def moves(chain: Any) -> None:
    """The gap rows' move of N members to the next stage and back."""
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
