"""The daily rollups (app.analytics.models): kept by the till, rebuilt from the
receipts, and summed for windows that start and end at the program's local midnights."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.analytics import loyal_days, stage_gaps
from app.analytics.models import (
    GAP_CAP,
    KpiBuyerGap,
    KpiCard,
    KpiCohortDay,
    KpiDay,
    KpiLoyalDay,
    KpiLoyalPaid,
    KpiRollupState,
    KpiStageGap,
    KpiVisit,
)
from app.db import UTCDateTime, upsert
from app.loyalty.models import Card, Member, Program
from app.till.models import Receipt

DayWindow = tuple[int, int]  # [first day, end day) as ordinals


def day_of(program: Program, at: datetime) -> int:
    return at.astimezone(ZoneInfo(program.timezone)).date().toordinal()


def midnight(program: Program, day: int) -> datetime:
    zone = ZoneInfo(program.timezone)
    return datetime.combine(date.fromordinal(day), time(0), tzinfo=zone).astimezone(UTC)


def day_windows(
    session: Session, program: Program, windows: Sequence[tuple[datetime, datetime]]
) -> list[DayWindow] | None:
    """The windows as runs of local days, when the rollups hold the program's receipts
    and every bound is a local midnight; None otherwise (the receipts are summed)."""
    days = []
    for start, end in windows:
        first, last = day_of(program, start), day_of(program, end)
        if midnight(program, first) != start or midnight(program, last) != end:
            return None
        days.append((first, last))
    if session.get(KpiRollupState, program.id) is None:
        return None
    return days


def _store_key(store_id: int | None) -> int:
    return store_id or 0


def record_purchase(session: Session, program: Program, receipt: Receipt) -> None:
    """Add a new receipt (the latest of its card) to the rollups. Until the program's
    rollups are built, only a program's very first receipt starts them."""
    state = session.get(KpiRollupState, program.id)
    if state is None:
        earlier = exists().where(Receipt.program_id == program.id, Receipt.id != receipt.id)
        if session.scalar(select(earlier)):
            return  # history not rolled up yet: reads sum the receipts until a rebuild
        started = {
            "program_id": program.id,
            "built_at": receipt.created_at,
            "loyal_min_purchases": program.loyal_min_purchases,
            "loyal_window_days": program.loyal_window_days,
        }
        session.execute(_upsert(session, KpiRollupState, started).on_conflict_do_nothing())
        state = session.get(KpiRollupState, program.id)
        assert state is not None
    day, key = day_of(program, receipt.created_at), _store_key(receipt.store_id)
    with_card = receipt.card_id is not None
    # One statement, so two tills opening a store's day at once both count.
    first = {"program_id": program.id, "day": day, "store_key": key, "with_card": with_card}
    add = _upsert(session, KpiDay, {**first, "receipts": 1, "due": receipt.amount_due})
    session.execute(
        add.on_conflict_do_update(
            index_elements=list(first),
            set_={
                "receipts": KpiDay.receipts + add.excluded.receipts,
                "due": KpiDay.due + add.excluded.due,
            },
        )
    )
    if receipt.card_id is not None:
        _visit(session, program, state, receipt, key, day)
        _card(session, program, receipt.card_id, receipt.created_at)
    session.flush()


def _upsert(session: Session, model: Any, values: dict[str, Any]) -> Any:
    return upsert(session, model).values(values)


def _visit(
    session: Session,
    program: Program,
    state: KpiRollupState,
    receipt: Receipt,
    key: int,
    day: int,
) -> None:
    card_id, at = receipt.card_id, receipt.created_at
    assert card_id is not None
    first = session.scalar(
        select(KpiVisit).where(KpiVisit.card_id == card_id, KpiVisit.day == day, KpiVisit.day_first)
    )
    if first is not None:
        first.day_n += 1
        if first.day_n == 2:
            count_gap(session, program.id, day, gap(day, first.prev_day), multi=1)
        since = gap(day, first.prev_day)
        stage_gaps.add_purchase(session, program.id, card_id, day, since, False, receipt.amount_due)
        loyal_days.bought_again(session, state, first, receipt.amount_due)
    visit = session.get(KpiVisit, (card_id, key, day))
    if visit is not None:
        visit.n += 1
        visit.due += receipt.amount_due
        return
    before = session.execute(
        select(KpiVisit.day, KpiVisit.prev_store_day, KpiVisit.n)
        .where(KpiVisit.card_id == card_id, KpiVisit.store_key == key, KpiVisit.day < day)
        .order_by(KpiVisit.day.desc())
        .limit(1)
    ).first()
    visit = KpiVisit(
        card_id=card_id,
        store_key=key,
        day=day,
        program_id=program.id,
        first_at=at,
        n=1,
        due=receipt.amount_due,
        prev_store_day=before[0] if before else None,
        prev2_store_day=before[1] if before else None,
        prev_store_n=before[2] if before else None,
        day_first=first is None,
        day_n=1 if first is None else 0,
    )
    if first is None:
        earlier = session.execute(
            select(KpiVisit.day, KpiVisit.day_n, KpiVisit.prev_day, KpiVisit.kth_day)
            .where(KpiVisit.card_id == card_id, KpiVisit.day_first, KpiVisit.day < day)
            .order_by(KpiVisit.day.desc())
            .limit(1)
        ).first()
        if earlier is not None:
            visit.prev_day, visit.prev_day_n, visit.prev2_day = earlier[:3]
        loyal_days.bought_on_new_day(
            session, state, visit, None if earlier is None else (earlier[0], earlier[3])
        )
        single = int(visit.prev_day_n == 1)
        count_gap(session, program.id, day, gap(day, visit.prev_day), buyers=1, second_from=single)
        if single:
            count_gap(session, program.id, day, gap(day, visit.prev2_day), second_to=1)
        since = gap(day, visit.prev_day)
        stage_gaps.add_purchase(session, program.id, card_id, day, since, True, receipt.amount_due)
    session.add(visit)


def gap(day: int, before: int | None) -> int:
    return GAP_CAP if before is None else min(day - before, GAP_CAP)


def count_gap(session: Session, program_id: int, day: int, gap: int, **add: int) -> None:
    """Add to the day's ``KpiBuyerGap`` row of that gap (one upsert)."""
    zero = dict.fromkeys(("buyers", "multi", "second_from", "second_to"), 0)
    values = {"program_id": program_id, "day": day, "gap": gap, **zero, **add}
    stmt = _upsert(session, KpiBuyerGap, values)
    more = {k: getattr(KpiBuyerGap, k) + getattr(stmt.excluded, k) for k in add}
    session.execute(
        stmt.on_conflict_do_update(index_elements=["program_id", "day", "gap"], set_=more)
    )


def _card(session: Session, program: Program, card_id: int, at: datetime) -> None:
    """First, second and last purchase of the card."""
    row = session.get(KpiCard, card_id)
    if row is None:
        session.add(
            KpiCard(card_id=card_id, program_id=program.id, first_at=at, second_at=None, last_at=at)
        )
        _count_cohort(session, program, card_id, at, "firsts")
        return
    if row.second_at is None:
        row.second_at = at
        _count_cohort(session, program, card_id, at, "seconds")
    row.last_at = at


def _count_cohort(
    session: Session, program: Program, card_id: int, at: datetime, kind: str
) -> None:
    """A card's first or second purchase in its member's enrolment day's row."""
    enrolled = session.scalar(
        select(Member.created_at).join(Card, Card.member_id == Member.id).where(Card.id == card_id)
    )
    if enrolled is None:
        return
    key = {"program_id": program.id, "enrol_day": day_of(program, aware(enrolled))}
    values = {**key, "day": day_of(program, at), "firsts": 0, "seconds": 0, kind: 1}
    stmt = _upsert(session, KpiCohortDay, values)
    more = {kind: getattr(KpiCohortDay, kind) + getattr(stmt.excluded, kind)}
    session.execute(stmt.on_conflict_do_update(index_elements=[*key, "day"], set_=more))


def window_tree(
    at: ColumnElement[Any], windows: Sequence[tuple[Any, Any]], values: list[Any]
) -> Any:
    """``values[i]`` for the window ``at`` falls in (NULL outside all): nested CASEs
    that halve the windows at each level, so a row costs a handful of comparisons."""
    if len(windows) == 1:
        start, end = windows[0]
        return case((and_(at >= start, at < end), values[0]), else_=None)
    mid = len(windows) // 2
    return case(
        (at < windows[mid][0], window_tree(at, windows[:mid], values[:mid])),
        else_=window_tree(at, windows[mid:], values[mid:]),
    )


def local_day(program: Program, at: ColumnElement[datetime], lo: Any, hi: Any) -> Any:
    """The program's local day (ordinal) of ``at``, as SQL, for instants in [lo, hi]."""
    first, last = day_of(program, aware(lo)), day_of(program, aware(hi)) + 1
    return day_tree(at, [midnight(program, d) for d in range(first, last + 1)], first)


def day_tree(at: ColumnElement[datetime], bounds: list[datetime], first_day: int) -> Any:
    """The local day (ordinal) of an instant in [bounds[0], bounds[-1]), where
    ``bounds[i]`` is the midnight starting day ``first_day + i``: nested CASEs that
    halve the days at each level."""
    if len(bounds) == 2:
        return literal(first_day)
    mid = len(bounds) // 2
    return case(
        (at < literal(bounds[mid], UTCDateTime()), day_tree(at, bounds[: mid + 1], first_day)),
        else_=day_tree(at, bounds[mid:], first_day + mid),
    )


def rebuild(session: Session, program: Program, now: datetime) -> tuple[int, int]:
    """The program's rollups from its receipts (in SQL); (day rows, visit rows)."""
    session.execute(delete(KpiVisit).where(KpiVisit.program_id == program.id))
    session.execute(delete(KpiDay).where(KpiDay.program_id == program.id))
    session.execute(delete(KpiBuyerGap).where(KpiBuyerGap.program_id == program.id))
    session.execute(delete(KpiStageGap).where(KpiStageGap.program_id == program.id))
    session.execute(delete(KpiRollupState).where(KpiRollupState.program_id == program.id))
    session.execute(delete(KpiLoyalDay).where(KpiLoyalDay.program_id == program.id))
    session.execute(delete(KpiLoyalPaid).where(KpiLoyalPaid.program_id == program.id))
    lo, hi = session.execute(
        select(func.min(Receipt.created_at), func.max(Receipt.created_at)).where(
            Receipt.program_id == program.id
        )
    ).one()
    days = visits = 0
    if lo is not None:
        lo, hi = aware(lo), aware(hi)
        first, last = day_of(program, lo), day_of(program, hi) + 1
        bounds = [midnight(program, d) for d in range(first, last + 1)]
        day = day_tree(Receipt.created_at.expression, bounds, first)
        days, visits = _fill(session, program, day)
        _fill_gaps(session, program)
        stage_gaps.fill(session, program)
        loyal_days.fill(session, program)
        loyal_days.fill_paid(session, program)
    rule = {"loyal_min_purchases": program.loyal_min_purchases}
    rule["loyal_window_days"] = program.loyal_window_days
    session.add(KpiRollupState(program_id=program.id, built_at=now, **rule))
    session.flush()
    return days, visits


def aware(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _written(session: Session, table: Any, program: Program) -> int:
    return int(session.scalar(select(func.count()).where(table.program_id == program.id)) or 0)


def _fill(session: Session, program: Program, day: Any) -> tuple[int, int]:
    key = func.coalesce(Receipt.store_id, 0)
    mine = Receipt.program_id == program.id
    with_card = Receipt.card_id.is_not(None)
    per_day = (
        select(
            literal(program.id),
            day.label("day"),
            key.label("store_key"),
            with_card.label("with_card"),
            func.count(),
            func.sum(Receipt.amount_due),
        )
        .where(mine)
        .group_by(day, key, with_card)
    )
    cols = ["program_id", "day", "store_key", "with_card", "receipts", "due"]
    session.execute(insert(KpiDay).from_select(cols, per_day))
    days = _written(session, KpiDay, program)
    # Per card, store and day; then the two previous visits per card and store, and per
    # card over all stores (the day's first row, by its first purchase).
    order = (Receipt.created_at, Receipt.id)
    card_receipts = (
        select(
            Receipt.card_id,
            key.label("store_key"),
            day.label("day"),
            Receipt.amount_due,
            Receipt.created_at,
            loyal_days.kth_over(day, Receipt.card_id, order, program.loyal_min_purchases).label(
                "kth"
            ),
        )
        .where(mine, with_card)
        .subquery()
    )
    c = card_receipts.c
    store_days = (
        select(
            c.card_id,
            c.store_key,
            c.day,
            func.count().label("n"),
            func.sum(c.amount_due).label("due"),
            func.min(c.created_at).label("first_at"),
            func.max(c.kth).label("kth"),
        )
        .group_by(c.card_id, c.store_key, c.day)
        .subquery()
    )
    s = store_days.c
    by_store = {"partition_by": (s.card_id, s.store_key), "order_by": s.day}
    by_day = {"partition_by": (s.card_id, s.day), "order_by": (s.first_at, s.store_key)}
    ranked = select(
        s.card_id,
        s.store_key,
        s.day,
        s.n,
        s.due,
        s.first_at,
        func.lag(s.day, 1).over(**by_store).label("p1"),  # type: ignore[arg-type]
        func.lag(s.day, 2).over(**by_store).label("p2"),  # type: ignore[arg-type]
        func.lag(s.n, 1).over(**by_store).label("pn"),  # type: ignore[arg-type]
        (func.row_number().over(**by_day) == 1).label("day_first"),  # type: ignore[arg-type]
        func.sum(s.n).over(partition_by=(s.card_id, s.day)).label("day_n"),
        func.dense_rank().over(partition_by=s.card_id, order_by=s.day).label("nth_day"),
        func.max(s.kth).over(partition_by=(s.card_id, s.day)).label("kth"),
    ).subquery()
    r = ranked.c

    def days_before(value: Any, back: int, how: Any = func.max) -> Any:
        """``value`` over the card's rows of the ``back``-th purchase day before."""
        frame = {"partition_by": r.card_id, "order_by": r.nth_day, "range_": (-back, -back)}
        return case((r.day_first, how(value).over(**frame)), else_=None)

    rows = select(
        r.card_id,
        r.store_key,
        r.day,
        literal(program.id),
        r.first_at,
        r.n,
        r.due,
        r.p1,
        r.p2,
        r.pn,
        r.day_first,
        case((r.day_first, r.day_n), else_=0),
        days_before(r.day, 1),
        days_before(r.day, 2),
        days_before(r.n, 1, func.sum),
        case((r.day_first, r.kth), else_=None),
    )
    cols = [
        "card_id",
        "store_key",
        "day",
        "program_id",
        "first_at",
        "n",
        "due",
        "prev_store_day",
        "prev2_store_day",
        "prev_store_n",
        "day_first",
        "day_n",
        "prev_day",
        "prev2_day",
        "prev_day_n",
        "kth_day",
    ]
    session.execute(insert(KpiVisit).from_select(cols, rows))
    visits = _written(session, KpiVisit, program)
    return int(days), int(visits)


def _fill_gaps(session: Session, program: Program) -> None:
    """``KpiBuyerGap`` from the program's visit rows."""
    v = KpiVisit

    def capped(before: Any) -> Any:
        return case(
            (before.is_(None), GAP_CAP), (v.day - before > GAP_CAP, GAP_CAP), else_=v.day - before
        )

    single = case((v.prev_day_n == 1, 1), else_=0)
    mine = [v.program_id == program.id, v.day_first]
    rows = union_all(
        select(
            v.day.label("day"),
            capped(v.prev_day).label("gap"),
            literal(1).label("buyers"),
            case((v.day_n >= 2, 1), else_=0).label("multi"),
            single.label("second_from"),
            literal(0).label("second_to"),
        ).where(*mine),
        select(v.day, capped(v.prev2_day), literal(0), literal(0), literal(0), literal(1)).where(
            *mine, v.prev_day_n == 1
        ),
    ).subquery()
    r = rows.c
    per_gap = select(
        literal(program.id),
        r.day,
        r.gap,
        func.sum(r.buyers),
        func.sum(r.multi),
        func.sum(r.second_from),
        func.sum(r.second_to),
    ).group_by(r.day, r.gap)
    cols = ["program_id", "day", "gap", "buyers", "multi", "second_from", "second_to"]
    session.execute(insert(KpiBuyerGap).from_select(cols, per_gap))


def window_buckets(day: ColumnElement[int], windows: Sequence[DayWindow]) -> tuple[Any, Any, Any]:
    """The window index of a day, the window's first day and its end day: arithmetic for
    runs of equal windows back to back (the dashboard's weeks, the last one maybe
    shorter), else nested CASEs."""
    first, length = windows[0][0], windows[0][1] - windows[0][0]
    if all(
        s == first + i * length and (e - s == length or i == len(windows) - 1)
        for i, (s, e) in enumerate(windows)
    ):
        index = (day - literal(first)) // literal(length)
        start = literal(first) + index * literal(length)
        last = literal(windows[-1][1])
        return index, start, case((start + literal(length) > last, last), else_=start + length)
    return (
        window_tree(day, windows, [literal(i) for i in range(len(windows))]),
        window_tree(day, windows, [literal(s) for s, _ in windows]),
        window_tree(day, windows, [literal(e) for _, e in windows]),
    )


def sums(
    session: Session,
    program: Program,
    windows: Sequence[DayWindow],
    store_id: int | None = None,
    by_store: bool = False,
) -> dict[tuple[int, int | None], list[int]]:
    """(window index, store id or None) -> [receipts, with card, money paid, paid with
    card, buyers, repeat buyers] for sorted windows that do not overlap; refunds are
    the caller's."""
    if not windows:
        return {}
    lo, hi = windows[0][0], windows[-1][1]
    out: dict[tuple[int, int | None], list[int]] = {}

    def store_of(k: int | None) -> int | None:
        return k or None

    d = KpiDay
    bucket, _, _ = window_buckets(d.day.expression, windows)
    where = [d.program_id == program.id, d.day >= lo, d.day < hi]
    if store_id is not None:
        where.append(d.store_key == _store_key(store_id))
    store = d.store_key if by_store else literal(None)
    for i, k, n, carded, due, due_card in session.execute(
        select(
            bucket,
            store,
            func.sum(d.receipts),
            func.sum(case((d.with_card, d.receipts), else_=0)),
            func.sum(d.due),
            func.sum(case((d.with_card, d.due), else_=0)),
        )
        .where(*where)
        .group_by(bucket, store)
    ):
        if i is not None:
            out[(int(i), store_of(k))] = [int(n), int(carded), int(due), int(due_card), 0, 0]
    wide = store_id is None and not by_store  # a card counts once over all stores
    if wide and max(e - s for s, e in windows) < GAP_CAP:
        found = _gap_buyers(session, program, windows)
    else:
        found = _visit_buyers(session, program, windows, store_id, by_store)
    for i, k, buyers, repeat in found:
        if i is not None and (int(i), store_of(k)) in out:
            row = out[(int(i), store_of(k))]
            row[4], row[5] = int(buyers), int(repeat)
    return out


def _gap_buyers(session: Session, program: Program, windows: Sequence[DayWindow]) -> Any:
    """(window, None, buyers, repeat buyers) from ``KpiBuyerGap``: a row's offset in its
    window decides whether its visits are the card's first of the window, or its
    second after a single purchase."""
    g = KpiBuyerGap
    bucket, start, _ = window_buckets(g.day.expression, windows)
    offset = g.day - start
    return session.execute(
        select(
            bucket,
            literal(None),
            func.sum(case((g.gap > offset, g.buyers), else_=0)),
            func.sum(
                case((g.gap > offset, g.multi), else_=g.second_from - g.second_to),
            ),
        )
        .where(g.program_id == program.id, g.day >= windows[0][0], g.day < windows[-1][1])
        .group_by(bucket)
    )


def _visit_buyers(
    session: Session,
    program: Program,
    windows: Sequence[DayWindow],
    store_id: int | None,
    by_store: bool,
) -> Any:
    """(window, store key or None, buyers, repeat buyers) from the visit rows."""
    v = KpiVisit
    at = v.day.expression
    bucket, start, _ = window_buckets(at, windows)
    only: list[ColumnElement[bool]] = []
    if store_id is None and not by_store:
        n, prev, prev2, prev_n = v.day_n, v.prev_day, v.prev2_day, v.prev_day_n
        only.append(v.day_first.expression)
    else:
        n, prev, prev2, prev_n = v.n, v.prev_store_day, v.prev2_store_day, v.prev_store_n
        if store_id is not None:
            only.append(v.store_key == _store_key(store_id))
    new = or_(prev.is_(None), prev < start)
    # The next visit after a single purchase, the first of the window.
    second = and_(prev >= start, prev_n == 1, or_(prev2.is_(None), prev2 < start))
    store = v.store_key if by_store else literal(None)
    return session.execute(
        select(
            bucket,
            store,
            func.sum(case((new, 1), else_=0)),
            func.sum(case((and_(new, n >= 2), 1), (second, 1), else_=0)),
        )
        .where(v.program_id == program.id, at >= windows[0][0], at < windows[-1][1], *only)
        .group_by(bucket, store)
    )
