"""The numbers that prove a wallet loyalty program pays, for a program and a period.

Revenue of a receipt is the money paid (``amount_due``) less money given back by its
refunds; receipts without a card count too (they are the comparison group).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Subquery, and_, case, func, or_, select
from sqlalchemy.orm import Session

from app.analytics import rollups, stage_days, stage_gaps
from app.analytics.histories import histories
from app.analytics.lifecycle import StageCounter, Thresholds, stage
from app.analytics.models import GAP_CAP, KpiVisit
from app.analytics.receipt_sums import ReceiptSums, Window, layers, receipt_sums
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


@dataclass(frozen=True)
class _ProgramWide:
    """The figures of a window that are the whole program's, whatever store is asked."""

    members_enrolled: int
    conversion_first: float | None
    conversion_second: float | None
    at_risk_share: float | None

    @classmethod
    def of(cls, k: Kpis) -> _ProgramWide:
        return cls(k.members_enrolled, k.conversion_first, k.conversion_second, k.at_risk_share)


def kpis(
    session: Session, program: Program, start: datetime, end: datetime, store_id: int | None = None
) -> Kpis:
    return kpis_series(session, program, [(start, end)], store_id)[0]


def kpis_series(
    session: Session, program: Program, windows: Sequence[Window], store_id: int | None = None
) -> list[Kpis]:
    """The KPIs of every window (e.g. the weeks of a chart and the whole period): the
    receipts summed by the database, one query per layer of windows that do not
    overlap, and one read of the purchase history for the program-wide figures."""
    if not windows:
        return []
    sums: dict[int, ReceiptSums] = {}
    for layer in layers(windows):
        found = receipt_sums(session, program, [windows[i] for i in layer], store_id)
        sums.update({i: found.get((n, None), ReceiptSums()) for n, i in enumerate(layer)})
    wide = _program_wide(session, program, windows)
    return [_assemble(sums[i], wide[i]) for i in range(len(windows))]


def kpis_by_store(
    session: Session, program: Program, start: datetime, end: datetime, total: Kpis | None = None
) -> dict[int | None, Kpis]:
    """Each store's KPIs in the period (store id -> figures, None for receipts of tills
    that belong to no store), summed by the database.
    ``total``, the period's figures when already computed, saves reading the history
    again for the parts that are the whole program's (cohort, at-risk share)."""
    wide = _ProgramWide.of(total) if total else _program_wide(session, program, [(start, end)])[0]
    sums = receipt_sums(session, program, [(start, end)], by_store=True)
    out: dict[int | None, Kpis] = {
        store.id: _assemble(sums.get((0, store.id), ReceiptSums()), wide)
        for store in program.stores
    }
    storeless = sums.get((0, None))
    if storeless is not None and storeless.receipts:
        out[None] = _assemble(storeless, wide)  # tills in no store
    return out


def _assemble(till: ReceiptSums, wide: _ProgramWide) -> Kpis:
    avg_with = _ratio(till.revenue_with_card, till.with_card)
    avg_without = _ratio(till.revenue - till.revenue_with_card, till.receipts - till.with_card)
    return Kpis(
        receipts=till.receipts,
        receipts_with_card=till.with_card,
        revenue=till.revenue,
        revenue_with_card=till.revenue_with_card,
        average_check_with_card=avg_with,
        average_check_without_card=avg_without,
        check_uplift=(avg_with / avg_without - 1) if avg_with is not None and avg_without else None,
        card_revenue_share=_ratio(till.revenue_with_card, till.revenue),
        card_penetration=_ratio(till.with_card, till.receipts),
        members_enrolled=wide.members_enrolled,
        conversion_first=wide.conversion_first,
        conversion_second=wide.conversion_second,
        repeat_share=_ratio(till.repeat_buyers, till.buyers),
        purchases_per_person=_ratio(till.with_card, till.buyers),
        at_risk_share=wide.at_risk_share,
    )


def _program_wide(
    session: Session, program: Program, windows: Sequence[Window]
) -> list[_ProgramWide]:
    """Each window's cohort (members enrolled in it, with their first two purchases up to
    the read's end) and the active / at-risk counts at its end, from the rollups for
    whole local days, else from one ordered read of the history."""
    days = rollups.day_windows(session, program, windows)
    if days is not None:
        at_ends = stage_days.stage_counts(session, program, [end for _, end in windows])
        return [
            _ProgramWide(
                members_enrolled=n,
                conversion_first=_ratio(bought, n),
                conversion_second=_ratio(twice, bought),
                at_risk_share=_ratio(at_end["at_risk"], at_end["at_risk"] + at_end["active"]),
            )
            for (n, bought, twice), at_end in zip(
                stage_days.cohorts(session, program, days),
                (at_ends[end] for _, end in windows),
                strict=True,
            )
        ]
    ends = sorted({end for _, end in windows})
    first_start = min(start for start, _ in windows)
    counter = StageCounter(thresholds_of(program), ends)
    joined: list[tuple[datetime, datetime | None, datetime | None]] = []
    for enrolled, purchases in histories(session, program, ends[0], ends[-1], first_start):
        counter.add(enrolled, purchases)
        if enrolled >= first_start:
            first = purchases[0] if purchases else None
            second = purchases[1] if len(purchases) > 1 else None
            joined.append((enrolled, first, second))
    joined.sort(key=lambda row: row[0])
    when = [row[0] for row in joined]
    at_end = dict(zip(ends, counter.totals(), strict=True))
    out = []
    for start, end in windows:
        cohort = joined[bisect_left(when, start) : bisect_left(when, end)]
        bought = sum(1 for _, first, _ in cohort if first is not None and first < end)
        twice = sum(1 for _, _, second in cohort if second is not None and second < end)
        stages = at_end[end]
        out.append(
            _ProgramWide(
                members_enrolled=len(cohort),
                conversion_first=_ratio(bought, len(cohort)),
                conversion_second=_ratio(twice, bought),
                at_risk_share=_ratio(stages["at_risk"], stages["at_risk"] + stages["active"]),
            )
        )
    return out


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
    daily job), so a marketer sees what each segment brings. Summed by the database per
    stage (a member has one card: buyers counted by card), from the daily rollups for
    a period on local midnights."""
    refunded = (
        select(Refund.receipt_pk, func.sum(Refund.money_back).label("back"))
        .where(Refund.created_at < end)
        .group_by(Refund.receipt_pk)
        .subquery()
    )
    days = rollups.day_windows(session, program, [(start, end)])
    if days is not None:
        found = _by_stage_from_rollups(session, program, start, end, days[0], refunded)
    else:
        found = {
            row[0]: (int(row[1]), int(row[2]), int(row[3] or 0))
            for row in session.execute(
                select(
                    Member.stage,
                    func.count(func.distinct(Receipt.card_id)),
                    func.count(),
                    func.sum(Receipt.amount_due - func.coalesce(refunded.c.back, 0)),
                )
                .select_from(Receipt)
                .join(Card, Card.id == Receipt.card_id)
                .join(Member, Member.id == Card.member_id)
                .outerjoin(refunded, refunded.c.receipt_pk == Receipt.id)
                .where(
                    Receipt.program_id == program.id,
                    Receipt.created_at >= start,
                    Receipt.created_at < end,
                )
                .group_by(Member.stage)
            )
        }
    sizes = dict(
        session.execute(
            select(Member.stage, func.count())
            .where(Member.program_id == program.id)
            .group_by(Member.stage)
        ).all()
    )
    out = []
    for stage_name in ("newcomer", "active", "at_risk", "lost"):
        buyers, receipts, revenue = found.get(stage_name, (0, 0, 0))
        members = int(sizes.get(stage_name, 0))
        out.append(
            SegmentKpis(
                stage_name,
                members,
                buyers,
                receipts,
                revenue,
                _ratio(revenue, receipts),
                _ratio(receipts, buyers),
                _ratio(revenue, members),
            )
        )
    return out


def _by_stage_from_rollups(
    session: Session,
    program: Program,
    start: datetime,
    end: datetime,
    days: rollups.DayWindow,
    refunded: Subquery,
) -> dict[str | None, tuple[int, int, int]]:
    """stage -> (buyers, receipts, money paid less refunds) of the local days ``days``:
    from the per-stage gap rows for periods they serve, else from the card visits; the
    refunds of the period's card receipts from their table."""
    found: dict[str | None, list[int]]
    if days[1] - days[0] < GAP_CAP:
        kept = stage_gaps.by_stage(session, program, days)
        found = {name: list(figures) for name, figures in kept.items()}
    else:
        v = KpiVisit
        # A card's first row of a day whose previous purchase day is before the period
        # counts it once as a buyer.
        new = and_(v.day_first, or_(v.prev_day.is_(None), v.prev_day < days[0]))
        visits = session.execute(
            select(
                Member.stage,
                func.sum(case((new, 1), else_=0)),
                func.sum(v.n),
                func.sum(v.due),
            )
            .select_from(v)
            .join(Card, Card.id == v.card_id)
            .join(Member, Member.id == Card.member_id)
            .where(v.program_id == program.id, v.day >= days[0], v.day < days[1])
            .group_by(Member.stage)
        )
        found = {name: [int(b), int(n), int(due)] for name, b, n, due in visits}
    back = session.execute(  # refunds are few: read per receipt
        select(Member.stage, func.sum(refunded.c.back))
        .select_from(refunded)
        .join(Receipt, Receipt.id == refunded.c.receipt_pk)
        .join(Card, Card.id == Receipt.card_id)
        .join(Member, Member.id == Card.member_id)
        .where(
            Receipt.program_id == program.id,
            Receipt.created_at >= start,
            Receipt.created_at < end,
        )
        .group_by(Member.stage)
    )
    for name, given in back:
        if name in found:  # members without a stage yet have no gap rows
            found[name][2] -= int(given)
    return {name: (b, n, due) for name, (b, n, due) in found.items()}
