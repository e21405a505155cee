"""The points ledger: oldest lots first, expiry at the date, balance == sum, always."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty import ledger
from app.loyalty.errors import InsufficientPointsError
from app.loyalty.models import Card, LedgerEntry, Program
from app.services import enrollment


def new_card(session: Session, services: Services, program: Program, phone: str) -> Card:
    form = enrollment.EnrollmentForm(name="Lot Tester", phone=phone, consent=True)
    data = enrollment.validate(form, program, services.clock.now().date())
    card = enrollment.enroll(session, services.clock, program, data)
    session.flush()
    return card


def assert_invariant(session: Session, card: Card) -> None:
    session.flush()
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.card_id == card.id)
    )
    lots = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.remaining), 0)).where(
            LedgerEntry.card_id == card.id
        )
    )
    assert card.balance == total == lots >= 0


def test_spending_takes_the_oldest_lots_first(
    session: Session, services: Services, demo: Program
) -> None:
    card = new_card(session, services, demo, "+79001110001")
    now = services.clock.now()
    first = ledger.credit(
        session, card, points=100, kind="earn", now=now, valid_days=None, reference="a"
    )
    second = ledger.credit(
        session, card, points=50, kind="earn", now=now, valid_days=10, reference="b"
    )
    assert first is not None and second is not None
    ledger.debit(session, card, points=120, kind="burn", now=now, reference="c")
    assert (first.remaining, second.remaining, card.balance) == (0, 30, 30)
    with pytest.raises(InsufficientPointsError):
        ledger.debit(session, card, points=31, kind="burn", now=now, reference="d")
    assert_invariant(session, card)


def test_lots_expire_at_their_date_and_cannot_be_spent_after(
    session: Session, services: Services, demo: Program
) -> None:
    card = new_card(session, services, demo, "+79001110002")
    now = services.clock.now()
    short = ledger.credit(
        session, card, points=100, kind="bonus", now=now, valid_days=1, reference="a"
    )
    ledger.credit(session, card, points=40, kind="earn", now=now, valid_days=365, reference="b")
    ledger.debit(
        session, card, points=30, kind="burn", now=now, reference="c"
    )  # from the short lot
    later = now + timedelta(days=1)
    with pytest.raises(InsufficientPointsError):
        ledger.debit(session, card, points=41, kind="burn", now=later, reference="d")
    assert short is not None and short.remaining == 0  # its 70 left expired before spending
    kinds = session.scalars(
        select(LedgerEntry.kind).where(LedgerEntry.card_id == card.id).order_by(LedgerEntry.id)
    ).all()
    assert kinds == ["bonus", "earn", "burn", "expire"]
    assert card.balance == 40
    assert_invariant(session, card)


operation = st.one_of(
    st.tuples(st.just("credit"), st.integers(1, 500), st.one_of(st.none(), st.integers(1, 30))),
    st.tuples(st.just("debit"), st.integers(1, 600), st.none()),
    st.tuples(st.just("refund_debit"), st.integers(1, 600), st.none()),
    st.tuples(st.just("wait"), st.integers(0, 20), st.none()),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(operation, max_size=25))
def test_the_cached_balance_always_equals_the_ledger(
    session: Session, services: Services, demo: Program, ops: list[tuple[str, int, int | None]]
) -> None:
    with session.begin_nested() as outer:
        card = new_card(session, services, demo, "+79001110003")
        now = services.clock.now()
        for kind, n, days in ops:
            if kind == "credit":
                ledger.credit(
                    session, card, points=n, kind="earn", now=now, valid_days=days, reference="x"
                )
            elif kind == "debit":
                with contextlib.suppress(InsufficientPointsError):
                    ledger.debit(session, card, points=n, kind="burn", now=now, reference="y")
            elif kind == "refund_debit":
                ledger.debit(
                    session,
                    card,
                    points=n,
                    kind="refund",
                    now=now,
                    reference="z",
                    allow_partial=True,
                )
            else:
                now += timedelta(days=n)
                ledger.expire_due(session, card, now)
            assert_invariant(session, card)
        outer.rollback()
