"""The program-wide figures of the dashboard's windows from rollups: cohort conversions
from each card's first and second purchase (``KpiCard``), and the lifecycle stage
counts at window ends from ``KpiStageDay`` rows (past local midnights, written by the
daily job and the rebuild) or, for an instant without a row, from ``KpiCard`` in SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, literal, select, union_all
from sqlalchemy.orm import Session

from app.analytics.histories import histories
from app.analytics.lifecycle import STAGES, StageCounter, Thresholds, stage
from app.analytics.models import KpiCard, KpiCohortDay, KpiRollupState, KpiStageDay
from app.analytics.receipt_sums import layers
from app.analytics.rollups import (
    DayWindow,
    aware,
    day_of,
    day_tree,
    midnight,
    window_buckets,
    window_tree,
)
from app.analytics.stretches import stretches
from app.loyalty.models import Card, Member, Program
from app.till.models import Receipt

Cohort = tuple[int, int, int]  # members enrolled, of those who bought, who bought twice


def _limits(program: Program) -> Thresholds:
    return Thresholds(program.newcomer_days, program.at_risk_after_days, program.lost_after_days)


def cohorts(session: Session, program: Program, days: Sequence[DayWindow]) -> list[Cohort]:
    """Per window of whole local days: members enrolled in it, who bought before its end,
    who bought twice (members counted on their enrolment index, conversions summed
    from ``KpiCohortDay``)."""
    out: list[list[int]] = [[0, 0, 0] for _ in days]
    bounds = [(midnight(program, first), midnight(program, end)) for first, end in days]
    at = Member.created_at
    # One scan of the members enrolled in each layer's span, bucketed by window: a count
    # per window read the same index range once per window (~2 s for a year's 52 weeks
    # at a million members when the table's visibility map is not set yet).
    for layer in layers(bounds):
        spans = [bounds[i] for i in layer]
        counted = select(func.count()).where(
            Member.program_id == program.id, at >= spans[0][0], at < spans[-1][1]
        )
        if len(spans) == 1:
            out[layer[0]][0] = int(session.scalar(counted) or 0)
            continue
        bucket = window_tree(at.expression, spans, [literal(i) for i in range(len(spans))])
        for count, n in session.execute(counted.add_columns(bucket).group_by(bucket)):
            if n is not None:
                out[layer[int(n)]][0] = int(count)
    c = KpiCohortDay
    for layer in layers(days):
        mine = [days[i] for i in layer]
        bucket, _, end = window_buckets(c.enrol_day.expression, mine)
        before_end = c.day < end
        for n, bought, twice in session.execute(
            select(
                bucket,
                func.sum(case((before_end, c.firsts), else_=0)),
                func.sum(case((before_end, c.seconds), else_=0)),
            )
            .where(c.program_id == program.id, c.enrol_day >= mine[0][0], c.enrol_day < mine[-1][1])
            .group_by(bucket)
        ):
            if n is not None:
                out[layer[int(n)]][1:] = [int(bought or 0), int(twice or 0)]
    return [(n, bought, twice) for n, bought, twice in out]


def counts_at(session: Session, program: Program, at: datetime) -> dict[str, int]:
    """Members per stage at ``at`` (as ``stage()`` says from the purchases before it)."""
    limits = _limits(program)
    young = at - timedelta(days=limits.newcomer_days + 1)
    risk = at - timedelta(days=limits.at_risk_after_days + 1)
    gone = at - timedelta(days=limits.lost_after_days + 1)
    k = KpiCard
    twice = k.second_at < at
    # Bought twice before ``at`` and again since: the last purchase before it is read below.
    deep = and_(twice, k.last_at >= at)
    last = case((k.last_at < at, k.last_at), (k.first_at < at, k.first_at), else_=None)
    quiet = func.coalesce(last, Member.created_at)
    name = case(
        (and_(~func.coalesce(twice, False), Member.created_at > young), "newcomer"),
        (quiet > risk, "active"),
        (quiet > gone, "at_risk"),
        else_="lost",
    )
    joined = (
        select(Member.created_at.label("enrolled"), k.card_id.label("card_id"))
        .select_from(Member)
        .outerjoin(Card, Card.member_id == Member.id)
        .outerjoin(k, k.card_id == Card.id)
        .where(Member.program_id == program.id, Member.created_at < at)
    )
    counts = dict.fromkeys(STAGES, 0)
    for stage_name, n in session.execute(
        joined.with_only_columns(name, func.count())
        .where(~func.coalesce(deep, False))
        .group_by(name)
    ):
        counts[stage_name] += int(n)
    recent = joined.where(func.coalesce(deep, False)).subquery()
    for enrolled, before in session.execute(
        select(recent.c.enrolled, func.max(Receipt.created_at))
        .join(Receipt, Receipt.card_id == recent.c.card_id)
        .where(Receipt.created_at < at)
        .group_by(recent.c.card_id, recent.c.enrolled)
    ):
        counts[stage(aware(enrolled), 2, aware(before), at, limits)] += 1
    return counts


def stage_counts(
    session: Session, program: Program, ends: Sequence[datetime]
) -> dict[datetime, dict[str, int]]:
    """Members per stage at each of ``ends`` (local midnights)."""
    days = {end: day_of(program, end) for end in ends}
    stored = {
        row.day: {name: getattr(row, name) for name in STAGES}
        for row in session.scalars(
            select(KpiStageDay).where(
                KpiStageDay.program_id == program.id, KpiStageDay.day.in_(set(days.values()))
            )
        )
    }
    return {
        end: stored[day] if day in stored else counts_at(session, program, end)
        for end, day in days.items()
    }


def refresh(session: Session, program: Program, now: datetime) -> int:
    """Rows for the local midnights passed since the last one stored (the daily job);
    nothing before the first rebuild. Returns the rows written."""
    if session.get(KpiRollupState, program.id) is None:
        return 0
    last = session.scalar(
        select(func.max(KpiStageDay.day)).where(KpiStageDay.program_id == program.id)
    )
    if last is None:
        return 0
    written = 0
    for day in range(last + 1, day_of(program, now) + 1):
        _write(session, program, day, counts_at(session, program, midnight(program, day)))
        written += 1
    return written


def _fill_cohorts(session: Session, program: Program) -> None:
    """``KpiCohortDay`` from ``KpiCard`` and the members' enrolment instants (in SQL)."""
    k = KpiCard

    def joined(*columns: Any) -> Any:
        return (
            select(*columns)
            .select_from(k)
            .join(Card, Card.id == k.card_id)
            .join(Member, Member.id == Card.member_id)
            .where(k.program_id == program.id)
        )

    found = session.execute(
        joined(
            func.min(Member.created_at),
            func.max(Member.created_at),
            func.min(k.first_at),
            func.max(k.last_at),
        )
    ).one()
    if found[0] is None:
        return
    instants = [aware(value) for value in found]
    first, last = day_of(program, min(instants)), day_of(program, max(instants)) + 1
    bounds = [midnight(program, d) for d in range(first, last + 1)]

    def day(at: Any) -> Any:
        return day_tree(at, bounds, first)

    rows = union_all(
        joined(
            day(Member.created_at.expression).label("enrol_day"),
            day(k.first_at.expression).label("day"),
            literal(1).label("firsts"),
            literal(0).label("seconds"),
        ),
        joined(
            day(Member.created_at.expression),
            day(k.second_at.expression),
            literal(0),
            literal(1),
        ).where(k.second_at.is_not(None)),
    ).subquery()
    r = rows.c
    per_day = select(
        literal(program.id), r.enrol_day, r.day, func.sum(r.firsts), func.sum(r.seconds)
    ).group_by(r.enrol_day, r.day)
    cols = ["program_id", "enrol_day", "day", "firsts", "seconds"]
    session.execute(insert(KpiCohortDay).from_select(cols, per_day))


def _write(session: Session, program: Program, day: int, counts: dict[str, int]) -> None:
    session.add(KpiStageDay(program_id=program.id, day=day, **counts))


def rebuild(session: Session, program: Program, now: datetime) -> int:
    """``KpiCard`` from the receipts and a ``KpiStageDay`` row for every local midnight
    from the first enrolment to ``now``, from the members' stretches between purchases
    (counted by PostgreSQL; on SQLite from the members' histories read in order)."""
    session.execute(delete(KpiCard).where(KpiCard.program_id == program.id))
    session.execute(delete(KpiStageDay).where(KpiStageDay.program_id == program.id))
    session.execute(delete(KpiCohortDay).where(KpiCohortDay.program_id == program.id))
    nth = (
        select(
            Receipt.card_id.label("card_id"),
            Receipt.created_at.label("at"),
            func.row_number()
            .over(partition_by=Receipt.card_id, order_by=(Receipt.created_at, Receipt.id))
            .label("nth"),
        )
        .where(Receipt.program_id == program.id, Receipt.card_id.is_not(None))
        .subquery()
    )
    per_card = select(
        nth.c.card_id,
        literal(program.id),
        func.min(nth.c.at),
        func.max(case((nth.c.nth == 2, nth.c.at), else_=None)),
        func.max(nth.c.at),
    ).group_by(nth.c.card_id)
    cols = ["card_id", "program_id", "first_at", "second_at", "last_at"]
    session.execute(insert(KpiCard).from_select(cols, per_card))
    _fill_cohorts(session, program)
    first = session.scalar(
        select(func.min(Member.created_at)).where(Member.program_id == program.id)
    )
    if first is None:
        return 0
    days = range(day_of(program, aware(first)) + 1, day_of(program, now) + 1)
    if not days:
        return 0
    instants = [midnight(program, day) for day in days]
    counter = StageCounter(_limits(program), instants)
    if session.get_bind().dialect.name == "postgresql":
        for stretch in stretches(session, program, instants, _limits(program)):
            counter.add_stretch(*stretch)
    else:  # SQLite runs the nested CASEs of stretches() slowly: its histories instead
        for enrolled, purchases in histories(
            session, program, instants[0], instants[-1], instants[0]
        ):
            counter.add(enrolled, purchases)
    for day, counts in zip(days, counter.totals(), strict=True):
        _write(session, program, day, counts)
    session.flush()
    return len(days)
