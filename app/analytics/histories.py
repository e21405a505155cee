"""Members' purchase histories streamed in member order, as the lifecycle counts need them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import and_, func, select, type_coerce
from sqlalchemy.orm import Session

from app.db import UTCDateTime
from app.loyalty.models import Card, Member, Program
from app.till.models import Receipt


def histories(
    session: Session, program: Program, since: datetime, end: datetime, joined_from: datetime
) -> Iterator[tuple[datetime, list[datetime]]]:
    """Every member enrolled before ``end`` with their purchases before ``end``, as far as
    the stages at instants in ``[since, end]`` and the cohorts need them. Purchases
    before ``since`` of members who joined before ``joined_from`` are summed up by the
    database to the first and the last (the stage only asks whether there were two, and
    since when there was none); the rest come one by one. Streamed member by member, in
    time order."""
    older = and_(Receipt.created_at < since, Member.created_at < joined_from)
    summary = (
        select(
            Card.member_id.label("member_id"),
            func.count().label("n"),
            type_coerce(func.min(Receipt.created_at), UTCDateTime()).label("first"),
            type_coerce(func.max(Receipt.created_at), UTCDateTime()).label("last"),
        )
        .join(Card, Card.id == Receipt.card_id)
        .join(Member, Member.id == Card.member_id)
        .where(Card.program_id == program.id, older)
        .group_by(Card.member_id)
        .subquery()
    )
    members = session.execute(
        select(Member.id, Member.created_at, summary.c.n, summary.c.first, summary.c.last)
        .outerjoin(summary, summary.c.member_id == Member.id)
        .where(Member.program_id == program.id, Member.created_at < end)
        .order_by(Member.id)
        .execution_options(yield_per=5_000)
    )
    one_by_one = iter(
        session.execute(
            select(Card.member_id, Receipt.created_at)
            .join(Card, Card.id == Receipt.card_id)
            .join(Member, Member.id == Card.member_id)
            .where(Card.program_id == program.id, Receipt.created_at < end, ~older)
            .order_by(Card.member_id, Receipt.created_at)
            .execution_options(yield_per=5_000)
        )
    )
    pending = next(one_by_one, None)
    for member_id, enrolled, n, first, last in members:
        purchases = [first, last][: min(int(n or 0), 2)]
        # Both reads are in member order: add this member's purchases read one by one.
        while pending is not None and pending[0] <= member_id:
            if pending[0] == member_id:
                purchases.append(pending[1])
            pending = next(one_by_one, None)
        yield enrolled, purchases
