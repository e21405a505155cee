"""Keeping members' lifecycle stages current and recording the transitions."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    Subquery,
    and_,
    case,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from app.analytics import stage_days, stage_gaps
from app.analytics.kpis import thresholds_of
from app.analytics.models import KpiCard, KpiRollupState
from app.clock import Clock
from app.db import UTCDateTime
from app.loyalty.models import Card, Member, Program, StageTransition
from app.services import campaign_triggers
from app.till.models import Receipt


def _history(program: Program, now: datetime, rolled_up: bool) -> Subquery:
    """(member, purchases before ``now``, the last of them) of members who bought: from
    the card's first, second and last purchase (``KpiCard``, one row a card) when the
    rollups hold the program, the receipts then read only for cards with a purchase at
    or after ``now``; else the receipts grouped by card (every receipt of the program read)."""

    def from_receipts(*where: Any) -> Select[int, int, datetime]:
        return (
            select(
                Card.member_id.label("member_id"),
                func.count(Receipt.id).label("n"),
                func.max(Receipt.created_at).label("last"),
            )
            .join(Receipt, Receipt.card_id == Card.id)
            .where(Card.program_id == program.id, Receipt.created_at < now, *where)
            .group_by(Card.member_id)
        )

    if not rolled_up:
        return from_receipts().subquery()
    k = KpiCard
    settled = (
        select(
            Card.member_id.label("member_id"),
            case((k.second_at.is_(None), 1), else_=2).label("n"),  # all before ``now``
            k.last_at.label("last"),
        )
        .join(k, k.card_id == Card.id)
        .where(k.program_id == program.id, k.last_at < now)
    )
    later = select(k.card_id).where(k.program_id == program.id, k.last_at >= now)
    return union_all(settled, from_receipts(Card.id.in_(later))).subquery()


def _moved(program: Program, now: datetime, rolled_up: bool) -> Select[int, str | None, str]:
    """(member, stored stage, stage now) of the program's members enrolled before ``now``
    whose stage is not the stored one: ``lifecycle.stage()`` in SQL over the purchases
    of the member's card before ``now``. ``(now - t).days <= n`` is ``t > now - (n + 1)
    days``, compared as instants."""
    limits = thresholds_of(program)
    history = _history(program, now, rolled_up)

    def since(days: int) -> datetime:
        return now - timedelta(days=days + 1)

    quiet = func.coalesce(history.c.last, Member.created_at)
    young = and_(func.coalesce(history.c.n, 0) < 2, Member.created_at > since(limits.newcomer_days))
    name = case(
        (young, "newcomer"),
        (quiet > since(limits.at_risk_after_days), "active"),
        (quiet > since(limits.lost_after_days), "at_risk"),
        else_="lost",
    )
    return (
        select(Member.id, Member.stage, name)
        .outerjoin(history, history.c.member_id == Member.id)
        .where(
            Member.program_id == program.id,
            Member.created_at < now,
            name.is_distinct_from(Member.stage),
        )
    )


def refresh_stages(
    session: Session, clock: Clock, program: Program
) -> list[tuple[int, str | None, str]]:
    """Recompute every member's stage; returns (member, from, to) for those that moved,
    by member. Set-based: the moved members are found by one query, their transitions
    and new stages written by one statement each."""
    now = clock.now()
    session.flush()
    stage_gaps.clear_moves(session)  # the moved members, listed for every statement below
    m = stage_gaps.MOVED.c
    columns = ["member_id", "from_stage", "to_stage"]
    rolled_up = session.get(KpiRollupState, program.id) is not None
    session.execute(insert(stage_gaps.MOVED).from_select(columns, _moved(program, now, rolled_up)))
    moved = [
        (member_id, old, new)
        for member_id, old, new in session.execute(select(stage_gaps.MOVED).order_by(m.member_id))
    ]
    if not moved:
        stage_days.refresh(session, program, now)
        return moved
    at = literal(now, UTCDateTime())
    session.execute(
        insert(StageTransition).from_select(
            ["member_id", "from_stage", "to_stage", "at"],
            select(m.member_id, m.from_stage, m.to_stage, at).order_by(m.member_id),
        )
    )
    # Win-back fires when a known member moves into "at risk" (not on the first
    # computation, which would message the whole base at once).
    at_risk = session.scalars(
        select(Card.id)
        .join(stage_gaps.MOVED, m.member_id == Card.member_id)
        .where(m.to_stage == "at_risk", m.from_stage.is_not(None))
        .order_by(Card.id)
    ).all()
    campaign_triggers.fire_trigger_many(session, clock, program.id, "win_back", at_risk)
    session.execute(
        update(Member)
        .where(Member.id == m.member_id)
        .values(stage=m.to_stage, stage_since=at)
        .execution_options(synchronize_session=False)
    )
    # The UPDATE went around the ORM: members the session holds would show the old stage.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Member):
            session.expire(obj, ["stage", "stage_since"])
    stage_gaps.move_listed(session, program)  # the per-stage table's rows follow
    stage_days.refresh(session, program, now)  # the dashboard's stage counts per day
    return moved
