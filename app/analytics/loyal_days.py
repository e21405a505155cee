"""Loyal cards at any local midnight from day deltas (``KpiLoyalDay``), and the money
they paid per purchase day (``KpiLoyalPaid``), from the rule's per-day state on the
visit rows (``KpiVisit.kth_day``).

A card whose last purchase day before the midnight starting day ``a`` is ``d`` is loyal
at ``a`` when its k-th most recent purchase counting day d's (``kth``) is on day
``a - W`` or later: k purchases within the W days before ``a``. So after a purchase day
``d`` followed by the purchase day ``n`` the card is loyal at the midnights
[d + 1, min(n, kth + W)] (its span): a +1 row on the first and a -1 row the day after
the last, and the loyal cards at ``a`` are the sum of the rows up to ``a``. Each
purchase day's money is added the same way at the spans of its card from that day on,
so the loyal cards' money of days [S, E) is the sum of the rows of S <= day < E up to
``E`` (only within ``LOYAL_HORIZON`` days of the purchase, the longest period it serves).
k and W are the rule the rows were written with (``KpiRollupState``); reads with another
rule use the visit rows (app.analytics.buyers) until ``walletpass analytics rebuild``
writes them again.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    Subquery,
    Table,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.analytics.models import (
    LOYAL_HORIZON,
    KpiLoyalDay,
    KpiLoyalPaid,
    KpiRollupState,
    KpiVisit,
)
from app.db import upsert
from app.loyalty.models import Program

Span = tuple[int, int] | None  # first and last midnight (days) a card is loyal at


def rule_of(state: KpiRollupState | None) -> tuple[int, int] | None:
    """(k, W) the rows were written with."""
    if state is None or state.loyal_min_purchases is None or state.loyal_window_days is None:
        return None
    return state.loyal_min_purchases, state.loyal_window_days


def current(session: Session, program: Program) -> bool:
    """Whether the rows hold the program's rule of today."""
    rule = rule_of(session.get(KpiRollupState, program.id))
    return rule == (program.loyal_min_purchases, program.loyal_window_days)


def _span(day: int, kth: int | None, next_day: int | None, window: int) -> Span:
    if kth is None:
        return None
    last = kth + window if next_day is None else min(next_day, kth + window)
    return (day + 1, last) if last > day else None


def _move(changes: Counter[int], span: Span, sign: int) -> None:
    if span is not None:
        changes[span[0]] += sign
        changes[span[1] + 1] -= sign


Days = list[tuple[int, int, int]]  # (day, purchases, money paid), latest first


def _card_days(session: Session, card_id: int, day: int, k: int) -> Days:
    """The card's purchase days up to ``day`` as stored: as many as its k-th most recent
    purchase and the horizon need (a day holds one purchase at least)."""
    v = KpiVisit
    days = (
        select(v.day, func.max(v.day_n), func.sum(v.due))
        .where(v.card_id == card_id, v.day <= day)
        .group_by(v.day)
        .order_by(v.day.desc())
        .limit(k + LOYAL_HORIZON)
    )
    return [(int(d), int(n), int(due)) for d, n, due in session.execute(days)]


def _kth(days: Days, day: int, day_n: int, k: int) -> int | None:
    """The day of the card's k-th most recent purchase, ``day`` (its latest) with
    ``day_n`` purchases included."""
    total = day_n
    if total >= k:
        return day
    for before, n, _ in days:
        if before < day:
            total += n
            if total >= k:
                return before
    return None


def _write(session: Session, program_id: int, changes: Counter[int]) -> None:
    """Add the changes, in the order of days (so two tills lock rows in one order)."""
    rows = [{"program_id": program_id, "day": d, "delta": n} for d, n in sorted(changes.items())]
    _add(session, KpiLoyalDay, [r for r in rows if r["delta"]], ["day"], "delta")


def _add(
    session: Session, model: Any, rows: list[dict[str, Any]], key: list[str], col: str
) -> None:
    """One INSERT … ON CONFLICT adding ``col`` to the rows (sorted: one locking order)."""
    if rows:
        stmt = upsert(session, model).values(rows)
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["program_id", *key],
                set_={col: getattr(model, col) + getattr(stmt.excluded, col)},
            )
        )


def _paid(session: Session, row: KpiVisit, amount: int, old: Span, new: Span, days: Days) -> None:
    """``KpiLoyalPaid`` after a purchase of ``amount`` on the card's latest day (``row``,
    its first row) that turned the card's loyal midnights after that day from ``old``
    into ``new``: each of its days in the horizon (``days``, money paid before this
    purchase) moves its money from the one to the other (this day's with the amount)."""
    day = row.day
    paid = {d: due for d, _, due in days if d > day - LOYAL_HORIZON}
    paid.setdefault(day, 0)
    changes: Counter[tuple[int, int]] = Counter()
    for spent, due in paid.items():
        for span, money in ((old, -due), (new, due + (amount if spent == day else 0))):
            if span is not None and money:
                for at, sign in ((span[0], 1), (span[1] + 1, -1)):
                    if at <= spent + LOYAL_HORIZON:
                        changes[(spent, at)] += sign * money
    rows = [
        {"program_id": row.program_id, "day": d, "at_day": at, "due": due}
        for (d, at), due in sorted(changes.items())
        if due
    ]
    _add(session, KpiLoyalPaid, rows, ["day", "at_day"], "due")


def bought_again(session: Session, state: KpiRollupState, row: KpiVisit, amount: int) -> None:
    """One more purchase (``amount`` paid) on the day of ``row``, the card's latest
    day's first row (its ``day_n`` already counts it, the visit rows' ``due`` not)."""
    rule = rule_of(state)
    if rule is None:
        return
    k, window = rule
    days = _card_days(session, row.card_id, row.day, k)
    kth = _kth(days, row.day, row.day_n, k)
    old, new = _span(row.day, row.kth_day, None, window), _span(row.day, kth, None, window)
    _paid(session, row, amount, old, new, days)
    if kth == row.kth_day:
        return
    changes: Counter[int] = Counter()
    _move(changes, old, -1)
    _move(changes, new, 1)
    row.kth_day = kth
    _write(session, row.program_id, changes)


def bought_on_new_day(
    session: Session, state: KpiRollupState, row: KpiVisit, earlier: tuple[int, int | None] | None
) -> None:
    """The first purchase of the card's new day (``row``, its first row), after its
    purchase day ``earlier`` (day, kth) if any: that day's span now ends at this one."""
    rule = rule_of(state)
    if rule is None:
        return
    k, window = rule
    changes: Counter[int] = Counter()
    old: Span = None  # the card's loyal midnights after this day until now
    if earlier is not None:
        before = _span(earlier[0], earlier[1], None, window)
        _move(changes, before, -1)
        _move(changes, _span(earlier[0], earlier[1], row.day, window), 1)
        if before is not None and before[1] > row.day:
            old = (row.day + 1, before[1])
    days = _card_days(session, row.card_id, row.day, k)
    row.kth_day = _kth(days, row.day, 1, k)
    new = _span(row.day, row.kth_day, None, window)
    _move(changes, new, 1)
    _write(session, row.program_id, changes)
    _paid(session, row, row.due, old, new, days)


def kth_over(receipt_day: Any, card_id: Any, order: Any, k: int) -> Any:
    """Per receipt, the day of the card's k-th most recent purchase counting it (the
    largest over a day's receipts is the day's ``kth_day``)."""
    return func.lag(receipt_day, k - 1).over(partition_by=card_id, order_by=order)


def fill(session: Session, program: Program) -> None:
    """``KpiLoyalDay`` from the program's visit rows (their ``kth_day`` written with the
    program's rule)."""
    v, window = KpiVisit, program.loyal_window_days
    days = select(
        v.day,
        v.kth_day,
        func.lead(v.day).over(partition_by=v.card_id, order_by=v.day).label("next_day"),
    ).where(v.program_id == program.id, v.day_first, v.kth_day.is_not(None))
    d = days.subquery()
    until = d.c.kth_day + window
    last = case((d.c.next_day < until, d.c.next_day), else_=until)
    spans = select(d.c.day, last.label("last")).where(until > d.c.day).subquery()
    ends = union_all(
        select((spans.c.day + 1).label("day"), literal(1).label("delta")),
        select(spans.c.last + 1, literal(-1)),
    ).subquery()
    rows = (
        select(literal(program.id), ends.c.day, func.sum(ends.c.delta))
        .group_by(ends.c.day)
        .having(func.sum(ends.c.delta) != 0)
    )
    session.execute(insert(KpiLoyalDay).from_select(["program_id", "day", "delta"], rows))


def fill_paid(session: Session, program: Program) -> None:
    """``KpiLoyalPaid`` from the program's visit rows (their ``kth_day`` written with
    the program's rule): each purchase day's money at the first and after the last
    midnight of each loyal span of its card from that day on, within the horizon."""
    v, window, horizon = KpiVisit, program.loyal_window_days, LOYAL_HORIZON
    per_day = (
        select(
            v.card_id,
            v.day,
            func.sum(v.due).label("due"),
            func.max(v.kth_day).label("kth"),
        )
        .where(v.program_id == program.id)
        .group_by(v.card_id, v.day)
    )
    # Read by the spans and by the pairs: a CTE (PostgreSQL materializes a CTE read
    # twice) rather than a subquery aggregated again for each.
    days: Any = per_day.cte("card_days")
    sqlite_temp = session.get_bind().dialect.name == "sqlite"
    if sqlite_temp:
        # SQLite joins the two derived tables below by rescanning one per row of the
        # other (minutes for a chain of 10 000 receipts): give it an indexed copy.
        _CARD_DAYS.create(session.connection(), checkfirst=True)
        session.execute(delete(_CARD_DAYS))
        session.execute(insert(_CARD_DAYS).from_select(["card_id", "day", "due", "kth"], per_day))
        days = _CARD_DAYS
    lead = func.lead(days.c.day).over(partition_by=days.c.card_id, order_by=days.c.day)
    ranked = select(
        days.c.card_id, days.c.day, days.c.due, days.c.kth, lead.label("next_day")
    ).subquery()
    until = ranked.c.kth + window
    spans = (
        select(
            ranked.c.card_id,
            ranked.c.day,
            ranked.c.due,
            case((ranked.c.next_day < until, ranked.c.next_day), else_=until).label("last"),
        )
        .where(until > ranked.c.day)
        .subquery()
    )
    # A span that ends on the card's next purchase day, whose span follows on, leaves
    # the card loyal: its -1 and the next span's +1 fall on the same midnight and cancel
    # for every purchase day that sees both. Only the runs of spans keep their ends.
    s = spans.c
    before = func.lag(s.last).over(partition_by=s.card_id, order_by=s.day)
    after = func.lead(s.day).over(partition_by=s.card_id, order_by=s.day)
    runs = select(
        s.card_id,
        s.day,
        s.due,
        s.last,
        func.coalesce(before == s.day, False).label("goes_on"),
        func.coalesce(after == s.last, False).label("going_on"),
    ).cte("runs")
    r = runs.c
    ends = union_all(
        select(
            r.card_id,
            r.day.label("span_day"),
            (r.day + 1).label("at_day"),
            literal(1).label("sign"),
        ).where(~r.goes_on),
        select(r.card_id, r.day, r.last + 1, literal(-1)).where(~r.going_on),
    ).subquery()
    # Each purchase day's money at the run ends from its own span on, within the horizon;
    # a day whose own span goes on from the one before starts with that span.
    i, e = days.c, ends.c
    pairs = days.join(
        ends, and_(e.card_id == i.card_id, e.span_day >= i.day, e.at_day <= i.day + horizon)
    )
    moves = union_all(
        select(i.day, e.at_day, (e.sign * i.due).label("due")).select_from(pairs),
        select(r.day, r.day + 1, r.due).where(r.goes_on),
    ).subquery()
    rows = (
        select(literal(program.id), moves.c.day, moves.c.at_day, func.sum(moves.c.due))
        .group_by(moves.c.day, moves.c.at_day)
        .having(func.sum(moves.c.due) != 0)
    )
    cols = ["program_id", "day", "at_day", "due"]
    session.execute(insert(KpiLoyalPaid).from_select(cols, rows))
    if sqlite_temp:
        _CARD_DAYS.drop(session.connection())


# The per card and day money and kth_day of one program, while fill_paid runs on SQLite.
_CARD_DAYS = Table(
    "loyal_card_days",
    MetaData(),
    Column("card_id", Integer, primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("due", BigInteger, nullable=False),
    Column("kth", Integer),
    prefixes=["TEMPORARY"],
)


def loyal_at(session: Session, program: Program, days: tuple[int, int]) -> tuple[int, int]:
    """The loyal cards at the midnights starting the two days."""
    d = KpiLoyalDay
    first, second = session.execute(
        select(
            func.coalesce(func.sum(case((d.day <= days[0], d.delta), else_=0)), 0),
            func.coalesce(func.sum(case((d.day <= days[1], d.delta), else_=0)), 0),
        ).where(d.program_id == program.id, d.day <= max(days))
    ).one()
    return int(first), int(second)


def loyal_revenue(
    session: Session, program: Program, first: int, last: int, refunds: Subquery
) -> int:
    """What the cards loyal at the midnight starting ``last`` paid on days [first, last)
    less ``refunds`` (card_id, money_back, of the period's receipts): a card is loyal
    then when its last purchase day before has ``kth_day >= last - W``, the largest of
    its days' (it never falls)."""
    v, since = KpiVisit, last - program.loyal_window_days
    if last - first > LOYAL_HORIZON:
        return _scanned_revenue(session, program, first, last, refunds)
    p = KpiLoyalPaid
    paid = session.scalar(
        select(func.coalesce(func.sum(p.due), 0)).where(
            p.program_id == program.id, p.day >= first, p.day < last, p.at_day <= last
        )
    )
    kth = (
        select(func.max(v.kth_day))
        .where(v.card_id == refunds.c.card_id, v.day_first, v.day < last)
        .scalar_subquery()
    )
    back = session.scalar(
        select(func.coalesce(func.sum(refunds.c.money_back), 0)).where(
            refunds.c.card_id.is_not(None), kth >= since
        )
    )
    return int(paid or 0) - int(back or 0)


def _scanned_revenue(
    session: Session, program: Program, first: int, last: int, refunds: Subquery
) -> int:
    """loyal_revenue from the period's visit rows, for periods longer than the horizon."""
    v = KpiVisit
    rows = union_all(
        select(v.card_id, v.due.label("net"), v.kth_day.label("kth")).where(
            v.program_id == program.id, v.day >= first, v.day < last
        ),
        select(refunds.c.card_id, -refunds.c.money_back, cast(null(), Integer)).where(
            refunds.c.card_id.is_not(None)
        ),
    ).subquery()
    per_card = (
        select(func.sum(rows.c.net).label("net"))
        .group_by(rows.c.card_id)
        .having(func.max(rows.c.kth) >= last - program.loyal_window_days)
        .subquery()
    )
    return int(session.scalar(select(func.coalesce(func.sum(per_card.c.net), 0))) or 0)
