"""Keeping members' lifecycle stages current and recording the transitions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.analytics import stage_days, stage_gaps
from app.analytics.kpis import member_stages
from app.clock import Clock
from app.loyalty.models import Member, Program, StageTransition
from app.services import campaigns


def refresh_stages(
    session: Session, clock: Clock, program: Program
) -> list[tuple[int, str | None, str]]:
    """Recompute every member's stage; returns (member, from, to) for those that moved."""
    now = clock.now()
    stages = member_stages(session, program, now)
    moved: list[tuple[int, str | None, str]] = []
    members = session.scalars(select(Member).where(Member.program_id == program.id))
    for member in members:
        new = stages.get(member.id)
        if new is None or new == member.stage:
            continue
        moved.append((member.id, member.stage, new))
        session.add(
            StageTransition(member_id=member.id, from_stage=member.stage, to_stage=new, at=now)
        )
        # Win-back fires when a known member moves into "at risk" (not on the first
        # computation, which would message the whole base at once).
        if new == "at_risk" and member.stage is not None and member.card is not None:
            campaigns.fire_trigger(session, clock, program.id, "win_back", member.card.id)
        member.stage, member.stage_since = new, now
    session.flush()
    stage_gaps.move(session, program, moved)  # the per-stage table's rows follow
    stage_days.refresh(session, program, now)  # the dashboard's stage counts per day
    return moved
