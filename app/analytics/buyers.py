"""Loyal buyers and repeat purchases, the figures the seed cases report.

A loyal buyer (program rule) is a member with at least ``loyal_min_purchases`` card
purchases in the ``loyal_window_days`` before an instant. A repeat purchase is a card
purchase made after an earlier purchase with the same card. Revenue is the money paid
less money given back by refunds made before the period's end, as in app.analytics.kpis.

For periods (and loyal windows) on the program's local midnights with its rollups built,
the figures come from the daily rollups (app.analytics.rollups): the loyal cards at a
midnight from day deltas and the loyal cards' money from the period's visit rows
(app.analytics.loyal_days), or from a card's purchases per day when the program's rule
is not the one those were written with; whether a card bought before, and each day's
money paid, instead of a year of receipts; refunds (few) from their table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, Subquery, and_, case, func, literal, select, union_all
from sqlalchemy.orm import Session, aliased

from app.analytics import loyal_days, rollups
from app.analytics.models import KpiCohortDay, KpiDay, KpiVisit
from app.loyalty.models import Card, Program
from app.till.models import Receipt, Refund


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class BuyerKpis:
    loyal_buyers: int  # at the period's end
    loyal_buyers_previous: int  # at the previous period's end (this period's start)
    loyal_buyers_change: float | None  # now / previous - 1
    loyal_revenue: int  # what this period's loyal buyers paid in it
    loyal_revenue_share: float | None  # of all revenue in the period (with or without card)
    card_purchases: int
    repeat_purchases: int
    repeat_purchase_share: float | None  # repeat purchases / card purchases in the period


def loyal_members(program: Program, at: datetime) -> Select[int]:
    """Members loyal at ``at`` by the program's rule."""
    since = at - timedelta(days=program.loyal_window_days)
    return (
        select(Card.member_id)
        .join(Receipt, Receipt.card_id == Card.id)
        .where(Card.program_id == program.id, Receipt.created_at >= since, Receipt.created_at < at)
        .group_by(Card.member_id)
        .having(func.count(Receipt.id) >= program.loyal_min_purchases)
    )


def _refunds(program: Program, start: datetime, end: datetime) -> Subquery:
    """Money given back before ``end`` for the program's receipts of [start, end)."""
    return (
        select(Receipt.card_id, Refund.money_back)
        .join(Receipt, Receipt.id == Refund.receipt_pk)
        .where(
            Receipt.program_id == program.id,
            Receipt.created_at >= start,
            Receipt.created_at < end,
            Refund.created_at < end,
        )
        .subquery()
    )


def _net_revenue(
    session: Session, program: Program, start: datetime, end: datetime, loyal_only: bool
) -> int:
    due = select(func.coalesce(func.sum(Receipt.amount_due), 0)).where(
        Receipt.program_id == program.id, Receipt.created_at >= start, Receipt.created_at < end
    )
    refunds = _refunds(program, start, end)
    back = select(func.coalesce(func.sum(refunds.c.money_back), 0))
    if loyal_only:
        loyal = loyal_members(program, end).subquery()
        cards = select(Card.id).where(Card.member_id.in_(select(loyal.c.member_id)))
        due = due.where(Receipt.card_id.in_(cards))
        back = back.where(refunds.c.card_id.in_(cards))
    return int(session.scalar(due) or 0) - int(session.scalar(back) or 0)


def buyer_kpis(session: Session, program: Program, start: datetime, end: datetime) -> BuyerKpis:
    loyal = timedelta(days=program.loyal_window_days)
    days = rollups.day_windows(session, program, [(start - loyal, start), (end - loyal, end)])
    if days is not None:
        return _from_rollups(session, program, start, end, days[0], days[1])
    count = select(func.count()).select_from
    now = int(session.scalar(count(loyal_members(program, end).subquery())) or 0)
    before = int(session.scalar(count(loyal_members(program, start).subquery())) or 0)
    revenue = _net_revenue(session, program, start, end, loyal_only=False)
    loyal_revenue = _net_revenue(session, program, start, end, loyal_only=True)
    earlier = aliased(Receipt)
    in_period = (
        Receipt.program_id == program.id,
        Receipt.card_id.is_not(None),
        Receipt.created_at >= start,
        Receipt.created_at < end,
    )
    purchases = int(session.scalar(select(func.count(Receipt.id)).where(*in_period)) or 0)
    repeats = int(
        session.scalar(
            select(func.count(Receipt.id)).where(
                *in_period,
                select(earlier.id)
                .where(earlier.card_id == Receipt.card_id, earlier.created_at < Receipt.created_at)
                .exists(),
            )
        )
        or 0
    )
    return BuyerKpis(
        loyal_buyers=now,
        loyal_buyers_previous=before,
        loyal_buyers_change=(now / before - 1) if before else None,
        loyal_revenue=loyal_revenue,
        loyal_revenue_share=_ratio(loyal_revenue, revenue),
        card_purchases=purchases,
        repeat_purchases=repeats,
        repeat_purchase_share=_ratio(repeats, purchases),
    )


def _from_rollups(
    session: Session,
    program: Program,
    start: datetime,
    end: datetime,
    before: rollups.DayWindow,
    now: rollups.DayWindow,
) -> BuyerKpis:
    """buyer_kpis from the rollups, the loyal windows ``before`` (ending at ``start``) and
    ``now`` (ending at ``end``) as local days; refunds from the refunds table."""
    first, last = rollups.day_of(program, start), rollups.day_of(program, end)
    refunds = _refunds(program, start, end)
    if loyal_days.current(session, program):
        was, nows = loyal_days.loyal_at(session, program, (first, last))
        loyal_revenue = loyal_days.loyal_revenue(session, program, first, last, refunds)
    else:  # another rule than the rows': each card's purchases in the loyal windows
        was, nows, loyal_revenue = _loyal_from_visits(session, program, refunds, before, now)
    d = KpiDay
    in_period = (d.program_id == program.id, d.day >= first, d.day < last)
    purchases, paid = session.execute(
        select(
            func.coalesce(func.sum(case((d.with_card, d.receipts), else_=0)), 0),
            func.coalesce(func.sum(d.due), 0),
        ).where(*in_period)
    ).one()
    purchases = int(purchases)
    back = session.scalar(select(func.coalesce(func.sum(refunds.c.money_back), 0)))
    revenue = int(paid) - int(back or 0)
    # Each card's first purchase ever is the one that is not a repeat (counted per day in
    # the cohort rows: a few hundred rows a day instead of the period's visit rows).
    c = KpiCohortDay
    firsts = int(
        session.scalar(
            select(func.coalesce(func.sum(c.firsts), 0)).where(
                c.program_id == program.id, c.day >= first, c.day < last
            )
        )
        or 0
    )
    repeats = purchases - firsts
    return BuyerKpis(
        loyal_buyers=nows,
        loyal_buyers_previous=was,
        loyal_buyers_change=(nows / was - 1) if was else None,
        loyal_revenue=loyal_revenue,
        loyal_revenue_share=_ratio(loyal_revenue, revenue),
        card_purchases=purchases,
        repeat_purchases=repeats,
        repeat_purchase_share=_ratio(repeats, purchases),
    )


def _loyal_from_visits(
    session: Session,
    program: Program,
    refunds: Subquery,
    before: rollups.DayWindow,
    now: rollups.DayWindow,
) -> tuple[int, int, int]:
    """Loyal cards at the period's start and end, and the money the latter paid in it,
    by the rule of the moment: one read of the visit rows of [before[0], now[1]) and the
    period's refunds gives each card's purchases in both loyal windows (``before`` ends
    at the period's start, ``now`` at its end) and its money paid less refunds."""
    v, k, first = KpiVisit, program.loyal_min_purchases, before[1]
    rows = union_all(
        select(
            v.card_id,
            case((and_(v.day_first, v.day < before[1]), v.day_n), else_=0).label("before"),
            case((and_(v.day_first, v.day >= now[0]), v.day_n), else_=0).label("now"),
            case((v.day >= first, v.due), else_=0).label("net"),
        ).where(v.program_id == program.id, v.day >= before[0], v.day < now[1]),
        select(refunds.c.card_id, literal(0), literal(0), -refunds.c.money_back).where(
            refunds.c.card_id.is_not(None)
        ),
    ).subquery()
    per_card = (
        select(
            func.sum(rows.c.before).label("before"),
            func.sum(rows.c.now).label("now"),
            func.sum(rows.c.net).label("net"),
        )
        .group_by(rows.c.card_id)
        .subquery()
    )
    loyal_now = per_card.c.now >= k
    was, nows, revenue = session.execute(
        select(
            func.coalesce(func.sum(case((per_card.c.before >= k, 1), else_=0)), 0),
            func.coalesce(func.sum(case((loyal_now, 1), else_=0)), 0),
            func.coalesce(func.sum(case((loyal_now, per_card.c.net), else_=0)), 0),
        )
    ).one()
    return int(was), int(nows), int(revenue)
