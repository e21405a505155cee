"""The numbers that prove a wallet loyalty program pays, for a program and a period.

Revenue of a receipt is the money paid (``amount_due``) less money given back by its
refunds; receipts without a card count too (they are the comparison group).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from app.analytics.lifecycle import StageCounter, Thresholds, stage
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


Window = tuple[datetime, datetime]  # [start, end)


@dataclass(frozen=True)
class _Sale:
    at: datetime
    card_id: int | None
    member_id: int | None
    store_id: int | None
    amount_due: int
    refunds: tuple[tuple[datetime, int], ...]  # (when, money back)

    def net(self, end: datetime) -> int:
        """Money kept, counting the refunds made before ``end``."""
        return self.amount_due - sum(back for at, back in self.refunds if at < end)


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


@dataclass(frozen=True)
class _Till:
    """What the receipts of a window add up to."""

    receipts: int
    with_card: int
    revenue: int
    revenue_with_card: int
    buyers: int  # members who bought with their card
    repeat_buyers: int  # of those, with two or more receipts


def kpis(
    session: Session, program: Program, start: datetime, end: datetime, store_id: int | None = None
) -> Kpis:
    return kpis_series(session, program, [(start, end)], store_id)[0]


def kpis_series(
    session: Session, program: Program, windows: Sequence[Window], store_id: int | None = None
) -> list[Kpis]:
    """The KPIs of every window (e.g. the weeks of a chart) from one read of the
    receipts and one of the purchase history, instead of a pass per window."""
    if not windows:
        return []
    sales = _sales(session, program, min(w[0] for w in windows), max(w[1] for w in windows))
    if store_id is not None:
        sales = [s for s in sales if s.store_id == store_id]
    wide = _program_wide(session, program, windows)
    times = [s.at for s in sales]
    out = []
    for (start, end), figures in zip(windows, wide, strict=True):
        mine = sales[bisect_left(times, start) : bisect_left(times, end)]
        out.append(_figures(mine, end, figures))
    return out


def kpis_by_store(
    session: Session, program: Program, start: datetime, end: datetime, total: Kpis | None = None
) -> dict[int, Kpis]:
    """Each store's KPIs in the period (store id -> figures), summed by the database.
    ``total``, the period's figures when already computed, saves reading the history
    again for the parts that are the whole program's (cohort, at-risk share)."""
    wide = _ProgramWide.of(total) if total else _program_wide(session, program, [(start, end)])[0]
    refunded = (
        select(Refund.receipt_pk, func.sum(Refund.money_back).label("back"))
        .where(Refund.created_at < end)
        .group_by(Refund.receipt_pk)
        .subquery()
    )
    per_member = (
        select(
            Receipt.store_id.label("store_id"),
            Card.member_id.label("member_id"),
            (Receipt.card_id.is_not(None)).label("carded"),
            func.count().label("n"),
            func.sum(Receipt.amount_due - func.coalesce(refunded.c.back, 0)).label("net"),
        )
        .outerjoin(refunded, refunded.c.receipt_pk == Receipt.id)
        .outerjoin(Card, Card.id == Receipt.card_id)
        .where(
            Receipt.program_id == program.id, Receipt.created_at >= start, Receipt.created_at < end
        )
        .group_by(Receipt.store_id, Card.member_id, Receipt.card_id.is_not(None))
        .subquery()
    )
    carded = per_member.c.carded
    rows = session.execute(
        select(
            per_member.c.store_id,
            func.sum(per_member.c.n),
            func.sum(case((carded, per_member.c.n), else_=0)),
            func.sum(per_member.c.net),
            func.sum(case((carded, per_member.c.net), else_=0)),
            func.count(per_member.c.member_id),
            func.sum(
                case(((per_member.c.member_id.is_not(None)) & (per_member.c.n >= 2), 1), else_=0)
            ),
        ).group_by(per_member.c.store_id)
    ).all()
    tills = {row[0]: _Till(*(int(v or 0) for v in row[1:])) for row in rows}
    empty = _Till(0, 0, 0, 0, 0, 0)
    return {store.id: _assemble(tills.get(store.id, empty), wide) for store in program.stores}


def _sales(session: Session, program: Program, start: datetime, end: datetime) -> list[_Sale]:
    """Receipts of ``[start, end)`` in time order, with their refunds made before ``end``."""
    in_period = (
        Receipt.program_id == program.id,
        Receipt.created_at >= start,
        Receipt.created_at < end,
    )
    rows = session.execute(
        select(
            Receipt.id,
            Receipt.created_at,
            Receipt.card_id,
            Card.member_id,
            Receipt.store_id,
            Receipt.amount_due,
        )
        .outerjoin(Card, Card.id == Receipt.card_id)
        .where(*in_period)
        .order_by(Receipt.created_at, Receipt.id)
    ).all()
    refunds: dict[int, list[tuple[datetime, int]]] = {}
    for receipt_pk, at, back in session.execute(
        select(Refund.receipt_pk, Refund.created_at, Refund.money_back)
        .join(Receipt, Receipt.id == Refund.receipt_pk)
        .where(*in_period, Refund.created_at < end)
    ):
        refunds.setdefault(receipt_pk, []).append((at, back))
    return [
        _Sale(at, card_id, member_id, store_id, due, tuple(refunds.get(pk, ())))
        for pk, at, card_id, member_id, store_id, due in rows
    ]


def _figures(sales: list[_Sale], end: datetime, wide: _ProgramWide) -> Kpis:
    nets = [(s.card_id is not None, s.member_id, s.net(end)) for s in sales]
    with_card = [(member_id, net) for carded, member_id, net in nets if carded]
    per_member: dict[int | None, int] = {}
    for member_id, _ in with_card:
        per_member[member_id] = per_member.get(member_id, 0) + 1
    till = _Till(
        receipts=len(sales),
        with_card=len(with_card),
        revenue=sum(net for _, _, net in nets),
        revenue_with_card=sum(net for _, net in with_card),
        buyers=len(per_member),
        repeat_buyers=sum(1 for n in per_member.values() if n >= 2),
    )
    return _assemble(till, wide)


def _assemble(till: _Till, wide: _ProgramWide) -> Kpis:
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
    the read's end) and the active / at-risk counts at its end, from one ordered read."""
    ends = sorted({end for _, end in windows})
    first_start = min(start for start, _ in windows)
    counter = StageCounter(thresholds_of(program), ends)
    joined: list[tuple[datetime, datetime | None, datetime | None]] = []
    for enrolled, purchases in _histories(session, program, ends[-1]):
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


def _histories(
    session: Session, program: Program, end: datetime
) -> Iterator[tuple[datetime, list[datetime]]]:
    """Every member enrolled before ``end``: (enrolled at, purchase times before ``end``
    in order), streamed member by member."""
    rows = session.execute(
        select(Member.id, Member.created_at, Receipt.created_at)
        .outerjoin(Card, Card.member_id == Member.id)
        .outerjoin(Receipt, (Receipt.card_id == Card.id) & (Receipt.created_at < end))
        .where(Member.program_id == program.id, Member.created_at < end)
        .order_by(Member.id, Receipt.created_at)
        .execution_options(yield_per=5_000)
    )
    current: tuple[int, datetime] | None = None
    purchases: list[datetime] = []
    for member_id, enrolled, bought in rows:
        if current is None or member_id != current[0]:
            if current is not None:
                yield current[1], purchases
            current, purchases = (member_id, enrolled), []
        if bought is not None:
            purchases.append(bought)
    if current is not None:
        yield current[1], purchases


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
