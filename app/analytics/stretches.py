"""The members' stretches between purchases as ``StageCounter.add_stretch`` takes them,
computed and counted by the database: one row per distinct stretch with how many
members had it, instead of every member's history read into Python.

A stretch is the time from a member's enrolment or n-th purchase to the next purchase;
as instant indexes (the positions ``bisect`` gives in the sorted instants) it is the
same for many members, so the rows come grouped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from app.analytics.lifecycle import Thresholds
from app.db import UTCDateTime
from app.loyalty.models import Card, Member, Program
from app.till.models import Receipt

Stretch = tuple[bool, int, int, int, int, int, int]  # add_stretch's arguments


def counted(at: ColumnElement[Any], bounds: Sequence[datetime], strict: bool) -> Any:
    """How many of the sorted ``bounds`` are before ``at`` (``strict``: bisect_left) or
    not after it (bisect_right), as nested CASEs halving the bounds at each level."""

    def tree(lo: int, hi: int) -> Any:
        if lo == hi:
            return literal(lo)
        mid = (lo + hi) // 2
        bound = literal(bounds[mid], UTCDateTime())
        not_counted = at <= bound if strict else at < bound
        return case((not_counted, tree(lo, mid)), else_=tree(mid + 1, hi))

    return tree(0, len(bounds))


def stretches(
    session: Session, program: Program, instants: Sequence[datetime], limits: Thresholds
) -> Iterator[Stretch]:
    """The stretches of the members enrolled before the last of ``instants`` (sorted
    UTC instants) with their purchases before it, as ``StageCounter.add`` would make
    them, counted."""
    end = instants[-1]

    def shifted(days: int) -> list[datetime]:
        # bisect_left(instants, t + d) == bisect_left([i - d for i in instants], t)
        return [i - timedelta(days=days + 1) for i in instants]

    enrolled = Member.created_at
    mine = [Member.program_id == program.id, enrolled < end]
    joined = select(
        Member.id.label("member_id"),
        enrolled.label("enrolled"),
        enrolled.label("at"),
        literal(0).label("n"),
    ).where(*mine)
    nth = func.row_number().over(
        partition_by=Card.member_id, order_by=(Receipt.created_at, Receipt.id)
    )
    bought = (
        select(Card.member_id, enrolled, Receipt.created_at, nth)
        .join(Card, Card.id == Receipt.card_id)
        .join(Member, Member.id == Card.member_id)
        .where(Card.program_id == program.id, Receipt.created_at < end, *mine)
    )
    lasts = union_all(joined, bought).subquery()
    c = lasts.c
    since = case((c.at > c.enrolled, c.at), else_=c.enrolled)  # counted from enrolment
    timed = select(c.member_id, c.n, c.at, c.enrolled, since.label("since")).subquery()
    t = timed.c
    young = t.n < 2
    indexed = select(
        t.member_id,
        t.n,
        counted(t.since, instants, strict=False).label("first"),
        case((young, counted(t.enrolled, shifted(limits.newcomer_days), True)), else_=null()).label(
            "young_until"
        ),
        counted(t.at, shifted(limits.at_risk_after_days), True).label("risk_from"),
        counted(t.at, shifted(limits.lost_after_days), True).label("lost_from"),
    ).subquery()
    x = indexed.c
    # The next purchase ends the stretch: counted from enrolment it ends no earlier
    # than this one starts when it predates enrolment, so the stretch is empty as before.
    following = func.lead(x.first).over(partition_by=x.member_id, order_by=x.n)
    ends = select(
        (x.n < 2).label("young"),
        x.first,
        func.coalesce(following, len(instants)).label("end"),
        x.young_until,
        x.risk_from,
        x.lost_from,
    ).subquery()
    e = ends.c
    grouped = (
        select(e.young, e.first, e.end, e.young_until, e.risk_from, e.lost_from, func.count())
        .where(e.first < e.end)
        .group_by(e.young, e.first, e.end, e.young_until, e.risk_from, e.lost_from)
    )
    for young_, first, end_, young_until, risk, lost, members in session.execute(grouped):
        yield bool(young_), first, end_, young_until or 0, risk, lost, members
