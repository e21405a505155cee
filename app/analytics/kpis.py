"""The numbers that prove a wallet loyalty program pays, for a program and a period.

Revenue of a receipt is the money paid (``amount_due``) less money given back by its
refunds; receipts without a card count too (they are the comparison group).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.analytics.lifecycle import Thresholds, stage
from app.loyalty.models import Card, Member, Program
from app.till.models import Receipt, Refund


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class Kpis:
    receipts: int
    receipts_with_card: int
    revenue: int
    revenue_with_card: int
    average_check_with_card: float | None
    average_check_without_card: float | None
    check_uplift: float | None  # with / without - 1
    card_revenue_share: float | None
    card_penetration: float | None  # share of receipts made with a card
    members_enrolled: int
    conversion_first: float | None  # enrolled in the period who bought at least once
    conversion_second: float | None  # of those, who bought twice or more
    repeat_share: float | None  # card buyers of the period with 2+ purchases in it
    purchases_per_person: float | None
    at_risk_share: float | None  # at risk among active + at risk members


def thresholds_of(program: Program) -> Thresholds:
    return Thresholds(program.newcomer_days, program.at_risk_after_days, program.lost_after_days)


def kpis(
    session: Session, program: Program, start: datetime, end: datetime, store_id: int | None = None
) -> Kpis:
    refunded = (
        select(Refund.receipt_pk, func.sum(Refund.money_back).label("back"))
        .where(Refund.created_at < end)
        .group_by(Refund.receipt_pk)
        .subquery()
    )
    net = Receipt.amount_due - func.coalesce(refunded.c.back, 0)
    stmt = (
        select(Receipt.card_id, Card.member_id, net)
        .outerjoin(refunded, refunded.c.receipt_pk == Receipt.id)
        .outerjoin(Card, Card.id == Receipt.card_id)
        .where(
            Receipt.program_id == program.id, Receipt.created_at >= start, Receipt.created_at < end
        )
    )
    if store_id is not None:
        stmt = stmt.where(Receipt.store_id == store_id)
    rows = session.execute(stmt).all()
    with_card = [r for r in rows if r[0] is not None]
    without = [r for r in rows if r[0] is None]
    revenue = sum(r[2] for r in rows)
    revenue_card = sum(r[2] for r in with_card)
    avg_with = _ratio(revenue_card, len(with_card))
    avg_without = _ratio(revenue - revenue_card, len(without))
    per_member: dict[int, int] = {}
    for r in with_card:
        per_member[r[1]] = per_member.get(r[1], 0) + 1
    cohort = _cohort(session, program, start, end)
    return Kpis(
        receipts=len(rows),
        receipts_with_card=len(with_card),
        revenue=revenue,
        revenue_with_card=revenue_card,
        average_check_with_card=avg_with,
        average_check_without_card=avg_without,
        check_uplift=(avg_with / avg_without - 1) if avg_with is not None and avg_without else None,
        card_revenue_share=_ratio(revenue_card, revenue),
        card_penetration=_ratio(len(with_card), len(rows)),
        members_enrolled=len(cohort),
        conversion_first=_ratio(sum(1 for n in cohort.values() if n >= 1), len(cohort)),
        conversion_second=_ratio(
            sum(1 for n in cohort.values() if n >= 2), sum(1 for n in cohort.values() if n >= 1)
        ),
        repeat_share=_ratio(sum(1 for n in per_member.values() if n >= 2), len(per_member)),
        purchases_per_person=_ratio(len(with_card), len(per_member)),
        at_risk_share=_at_risk_share(session, program, end),
    )


def _cohort(session: Session, program: Program, start: datetime, end: datetime) -> dict[int, int]:
    """Members enrolled in the period -> their purchases up to the period's end."""
    purchases = (
        select(Card.member_id, func.count(Receipt.id).label("n"))
        .join(Receipt, Receipt.card_id == Card.id)
        .where(Receipt.created_at < end)
        .group_by(Card.member_id)
        .subquery()
    )
    rows = session.execute(
        select(Member.id, func.coalesce(purchases.c.n, 0))
        .outerjoin(purchases, purchases.c.member_id == Member.id)
        .where(Member.program_id == program.id, Member.created_at >= start, Member.created_at < end)
    ).all()
    return {member_id: int(n) for member_id, n in rows}


def member_stages(session: Session, program: Program, now: datetime) -> dict[int, str]:
    """Every member's lifecycle stage as of ``now``."""
    history = (
        select(
            Card.member_id,
            func.count(Receipt.id).label("n"),
            func.max(Receipt.created_at).label("last"),
        )
        .join(Receipt, Receipt.card_id == Card.id)
        .where(Receipt.created_at < now)
        .group_by(Card.member_id)
        .subquery()
    )
    rows = session.execute(
        select(Member.id, Member.created_at, func.coalesce(history.c.n, 0), history.c.last)
        .outerjoin(history, history.c.member_id == Member.id)
        .where(Member.program_id == program.id, Member.created_at < now)
    ).all()
    limits = thresholds_of(program)
    return {
        member_id: stage(enrolled, int(n), _aware(last), now, limits)
        for member_id, enrolled, n, last in rows
    }


def _aware(value: datetime | str | None) -> datetime | None:
    # max() over a UTC column comes back without the column type on some databases.
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def _at_risk_share(session: Session, program: Program, now: datetime) -> float | None:
    stages = list(member_stages(session, program, now).values())
    at_risk = stages.count("at_risk")
    return _ratio(at_risk, at_risk + stages.count("active"))


@dataclass(frozen=True)
class SegmentKpis:
    stage: str
    members: int
    buyers: int  # members of the stage who bought in the period
    receipts: int
    revenue: int
    average_check: float | None
    purchases_per_buyer: float | None
    revenue_per_member: float | None


def kpis_by_stage(
    session: Session, program: Program, start: datetime, end: datetime
) -> list[SegmentKpis]:
    """Card holders' purchases in the period, per lifecycle stage (as stored by the
    daily job), so a marketer sees what each segment brings."""
    refunded = (
        select(Refund.receipt_pk, func.sum(Refund.money_back).label("back"))
        .where(Refund.created_at < end)
        .group_by(Refund.receipt_pk)
        .subquery()
    )
    rows = session.execute(
        select(Member.stage, Member.id, Receipt.amount_due - func.coalesce(refunded.c.back, 0))
        .join(Card, Card.member_id == Member.id)
        .join(Receipt, Receipt.card_id == Card.id)
        .outerjoin(refunded, refunded.c.receipt_pk == Receipt.id)
        .where(
            Member.program_id == program.id, Receipt.created_at >= start, Receipt.created_at < end
        )
    ).all()
    sizes = dict(
        session.execute(
            select(Member.stage, func.count())
            .where(Member.program_id == program.id)
            .group_by(Member.stage)
        ).all()
    )
    out = []
    for stage_name in ("newcomer", "active", "at_risk", "lost"):
        mine = [r for r in rows if r[0] == stage_name]
        buyers = len({r[1] for r in mine})
        revenue = sum(int(r[2]) for r in mine)
        members = int(sizes.get(stage_name, 0))
        out.append(
            SegmentKpis(
                stage_name,
                members,
                buyers,
                len(mine),
                revenue,
                _ratio(revenue, len(mine)),
                _ratio(len(mine), buyers),
                _ratio(revenue, members),
            )
        )
    return out
