"""Card holders' buyers, receipts and money paid per lifecycle stage (``KpiStageGap``):
counted by the till under the stage stored for the buyer's member, moved when the
daily job changes a member's stage, rebuilt from the visit rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from app.analytics.models import GAP_CAP, KpiStageGap, KpiVisit
from app.db import upsert
from app.loyalty.models import Card, Member, Program

Moved = tuple[int, str | None, str]  # member, stage before (None: none yet), stage now
Figures = tuple[int, int, int]  # buyers, receipts, money paid
_COLUMNS = ["program_id", "day", "stage", "gap", "buyers", "receipts", "due"]
_KEY = ["program_id", "day", "stage", "gap"]


def _adding(session: Session, stmt: Any) -> Any:
    """``stmt`` (an INSERT of KpiStageGap rows) adding to the rows already there."""
    return stmt.on_conflict_do_update(
        index_elements=_KEY,
        set_={
            col: getattr(KpiStageGap, col) + getattr(stmt.excluded, col)
            for col in ("buyers", "receipts", "due")
        },
    )


def add_purchase(
    session: Session, program_id: int, card_id: int, day: int, gap: int, new_day: bool, due: int
) -> None:
    """A purchase of the card on ``day`` (whose gap to the card's previous purchase day
    is ``gap``) under its member's stage (none while it has none); the card's first
    that day counts a buyer. One statement, whose read of the stage takes a share lock
    on the member on PostgreSQL: while the daily job changes the stage, the till waits
    and counts under the new one (the job's move has not seen this purchase)."""
    row = (
        select(
            literal(program_id),
            literal(day),
            Member.stage,
            literal(gap),
            literal(int(new_day)),
            literal(1),
            literal(due),
        )
        .join(Card, Card.member_id == Member.id)
        .where(Card.id == card_id, Member.stage.is_not(None))
        .with_for_update(read=True, of=Member)
    )
    session.execute(_adding(session, upsert(session, KpiStageGap).from_select(_COLUMNS, row)))


def _card_days(source: Any, *where: Any, carry: Sequence[Any] = ()) -> Any:
    """Per card and purchase day of the visit rows (joined from ``source``): the gap to
    the card's previous purchase day (on the day's first row, capped as in
    KpiBuyerGap), the purchases and the money paid over all stores; ``carry`` adds
    columns that are one value per card."""
    v = KpiVisit
    capped = case(
        (v.prev_day.is_(None), GAP_CAP),
        (v.day - v.prev_day > GAP_CAP, GAP_CAP),
        else_=v.day - v.prev_day,
    )
    return (
        select(
            v.card_id,
            v.day,
            *carry,
            func.max(case((v.day_first, capped), else_=None)).label("gap"),
            func.sum(v.n).label("receipts"),
            func.sum(v.due).label("due"),
        )
        .select_from(source)
        .where(*where)
        .group_by(v.card_id, v.day, *carry)
        .subquery()
    )


def fill(session: Session, program: Program) -> None:
    """The program's rows from its visit rows and its members' stages (rebuild)."""
    days = _card_days(KpiVisit, KpiVisit.program_id == program.id)
    d = days.c
    rows = (
        select(
            literal(program.id),
            d.day,
            Member.stage,
            d.gap,
            func.count(),
            func.sum(d.receipts),
            func.sum(d.due),
        )
        .select_from(days)
        .join(Card, Card.id == d.card_id)
        .join(Member, Member.id == Card.member_id)
        .where(Member.stage.is_not(None))
        .group_by(d.day, Member.stage, d.gap)
    )
    session.execute(insert(KpiStageGap).from_select(_COLUMNS, rows))


# The members whose stage changes, while the daily job runs: listed by the job
# (app.services.lifecycle) or by ``move``, read by ``move_listed``.
MOVED = Table(
    "stage_moves",
    MetaData(),
    Column("member_id", Integer, primary_key=True),
    Column("from_stage", String(16)),
    Column("to_stage", String(16), nullable=False),
    prefixes=["TEMPORARY"],
)


def clear_moves(session: Session) -> None:
    """An empty ``MOVED`` on the session's connection, to list this run's moves in."""
    MOVED.create(session.connection(), checkfirst=True)
    session.execute(delete(MOVED))


def move(session: Session, program: Program, moved: Sequence[Moved]) -> None:
    """``move_listed`` for these (member, stage before, stage now)."""
    if not moved:
        return
    clear_moves(session)
    rows = [{"member_id": m, "from_stage": old, "to_stage": new} for m, old, new in moved]
    for i in range(0, len(rows), 10_000):
        session.execute(insert(MOVED), rows[i : i + 10_000])
    move_listed(session, program)


def move_listed(session: Session, program: Program) -> None:
    """Move the rows of the cards of the members listed in ``MOVED`` from the stage
    before to the stage now, set-based: their visit rows are summed per stage, day and
    gap into signed changes added in one statement, and rows left empty are deleted.
    Call it after the members' new stages are flushed (a till's purchase then waits for
    the commit and counts under the new stage)."""
    t, v = MOVED.c, KpiVisit
    source = MOVED.join(Card, Card.member_id == t.member_id).join(v, v.card_id == Card.id)
    days = _card_days(source, v.program_id == program.id, carry=(t.from_stage, t.to_stage))
    d = days.c
    # Per pair of stages, day and gap (a CTE: summed once for both signs).
    pairs = (
        select(
            d.from_stage,
            d.to_stage,
            d.day,
            d.gap,
            func.count().label("buyers"),
            func.sum(d.receipts).label("receipts"),
            func.sum(d.due).label("due"),
        )
        .group_by(d.from_stage, d.to_stage, d.day, d.gap)
        .cte("moved_days")
    )
    p = pairs.c
    signed = union_all(
        select(
            p.from_stage.label("stage"),
            p.day,
            p.gap,
            (-p.buyers).label("buyers"),
            (-p.receipts).label("receipts"),
            (-p.due).label("due"),
        ).where(p.from_stage.is_not(None)),
        select(p.to_stage, p.day, p.gap, p.buyers, p.receipts, p.due),
    ).subquery()
    s = signed.c
    changes = (
        select(
            literal(program.id),
            s.day,
            s.stage,
            s.gap,
            func.sum(s.buyers),
            func.sum(s.receipts),
            func.sum(s.due),
        )
        .where(s.stage.is_not(None))  # SQLite: a WHERE before an upsert's ON CONFLICT
        .group_by(s.day, s.stage, s.gap)
        .having(or_(func.sum(s.buyers) != 0, func.sum(s.receipts) != 0, func.sum(s.due) != 0))
    )
    session.execute(_adding(session, upsert(session, KpiStageGap).from_select(_COLUMNS, changes)))
    g = KpiStageGap
    session.execute(delete(g).where(g.program_id == program.id, g.buyers == 0))


def by_stage(session: Session, program: Program, days: tuple[int, int]) -> dict[str, Figures]:
    """stage -> (buyers, receipts, money paid) of the local days [S, E), E - S < GAP_CAP:
    a row's buyers are the window's when its gap exceeds its day's offset from S."""
    g = KpiStageGap
    assert days[1] - days[0] < GAP_CAP
    found = session.execute(
        select(
            g.stage,
            func.sum(case((g.gap > g.day - days[0], g.buyers), else_=0)),
            func.sum(g.receipts),
            func.sum(g.due),
        )
        .where(g.program_id == program.id, g.day >= days[0], g.day < days[1])
        .group_by(g.stage)
    )
    return {stage: (int(b), int(n), int(due)) for stage, b, n, due in found}
