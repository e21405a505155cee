"""The KPIs of one window computed the plain way, row by row in Python from every
receipt, refund and member: slow, short, and the oracle the batched queries are held to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.analytics.kpis import Kpis, thresholds_of
from app.analytics.lifecycle import stage
from app.loyalty.models import Card, Member, Program
from app.till.models import Receipt, Refund


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def reference_kpis(
    session: Session, program: Program, start: datetime, end: datetime, store_id: int | None = None
) -> Kpis:
    receipts = session.scalars(select(Receipt).where(Receipt.program_id == program.id)).all()
    refunds = session.scalars(select(Refund)).all()
    members = session.scalars(select(Member).where(Member.program_id == program.id)).all()
    member_of = {c.id: c.member_id for c in session.scalars(select(Card))}

    def net(receipt: Receipt) -> int:
        back = sum(
            f.money_back for f in refunds if f.receipt_pk == receipt.id and f.created_at < end
        )
        return receipt.amount_due - back

    mine = [
        r
        for r in receipts
        if start <= r.created_at < end and (store_id is None or r.store_id == store_id)
    ]
    carded = [r for r in mine if r.card_id is not None]
    revenue = sum(net(r) for r in mine)
    revenue_card = sum(net(r) for r in carded)
    avg_with = ratio(revenue_card, len(carded))
    avg_without = ratio(revenue - revenue_card, len(mine) - len(carded))
    per_buyer: dict[int, int] = {}
    for r in carded:
        per_buyer[member_of[r.card_id]] = per_buyer.get(member_of[r.card_id], 0) + 1  # type: ignore[index]

    def bought_before_end(member: Member) -> list[datetime]:
        return sorted(
            r.created_at
            for r in receipts
            if r.card_id is not None and member_of[r.card_id] == member.id and r.created_at < end
        )

    cohort = [bought_before_end(m) for m in members if start <= m.created_at < end]
    stages = [
        stage(m.created_at, len(b), max(b, default=None), end, thresholds_of(program))
        for m in members
        if m.created_at < end
        for b in [bought_before_end(m)]
    ]
    first = sum(1 for b in cohort if b)
    return Kpis(
        receipts=len(mine),
        receipts_with_card=len(carded),
        revenue=revenue,
        revenue_with_card=revenue_card,
        average_check_with_card=avg_with,
        average_check_without_card=avg_without,
        check_uplift=(avg_with / avg_without - 1) if avg_with is not None and avg_without else None,
        card_revenue_share=ratio(revenue_card, revenue),
        card_penetration=ratio(len(carded), len(mine)),
        members_enrolled=len(cohort),
        conversion_first=ratio(first, len(cohort)),
        conversion_second=ratio(sum(1 for b in cohort if len(b) >= 2), first),
        repeat_share=ratio(sum(1 for n in per_buyer.values() if n >= 2), len(per_buyer)),
        purchases_per_person=ratio(len(carded), len(per_buyer)),
        at_risk_share=ratio(
            stages.count("at_risk"), stages.count("at_risk") + stages.count("active")
        ),
    )
