"""KPIs and lifecycle stages on a hand-made purchase history, checked against hand sums."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.analytics.kpis import kpis, member_stages
from app.analytics.lifecycle import Thresholds, stage
from app.bootstrap import Services
from app.clock import FixedClock
from app.db import new_public_id
from app.loyalty.models import Card, Member, Program, StageTransition, Store
from app.services import terminals
from app.services.lifecycle import refresh_stages
from app.till.models import Receipt, Refund, Terminal
from tests.helpers import sale

MARCH, APRIL = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)


def day(month: int, d: int, year: int = 2026) -> datetime:
    return datetime(year, month, d, 12, tzinfo=UTC)


class History:
    def __init__(self, session: Session, services: Services, program: Program) -> None:
        self.session, self.program = session, program
        self.terminal: Terminal = terminals.add_terminal(session, services.clock, program, "T")[0]
        self.store = Store(program_id=program.id, code="x", name="X")
        session.add(self.store)
        self.n = 0

    def member(self, enrolled: datetime) -> Card:
        self.n += 1
        member = Member(
            program_id=self.program.id,
            phone=f"+7906000{self.n:04d}",
            name=f"M{self.n}",
            locale="ru",
            marketing_consent=True,
            created_at=enrolled,
        )
        self.session.add(member)
        self.session.flush()
        card = Card(
            public_id=new_public_id(),
            program_id=self.program.id,
            member_id=member.id,
            number=f"{self.n:013d}",
            barcode_secret="S" * 10,
            tier_id=self.program.default_tier.id,
            balance=0,
            status="active",
            created_at=enrolled,
        )
        self.session.add(card)
        self.session.flush()
        return card

    def receipt(
        self, at: datetime, due: int, card: Card | None = None, store: bool = False
    ) -> Receipt:
        self.n += 1
        receipt = sale(
            self.terminal,
            f"r{self.n}",
            at,
            due,
            card.id if card else None,
            self.store.id if store else None,
        )
        self.session.add(receipt)
        self.session.flush()
        return receipt


@pytest.fixture
def history(session: Session, services: Services, demo: Program) -> dict[str, Card]:
    h = History(session, services, demo)
    cards = {
        "A": h.member(day(3, 2)),
        "B": h.member(day(3, 5)),
        "C": h.member(day(3, 10)),
        "D": h.member(day(10, 1, 2025)),
        "E": h.member(day(6, 1, 2025)),
        "F": h.member(day(1, 1, 2025)),
    }
    h.receipt(day(3, 3), 1000, cards["A"])
    h.receipt(day(3, 20), 3000, cards["A"])
    b = h.receipt(day(3, 6), 2000, cards["B"])
    h.session.add(
        Refund(
            receipt_pk=b.id,
            terminal_id=h.terminal.id,
            refund_id="f1",
            amount=500,
            money_back=500,
            points_returned=0,
            points_taken_back=0,
            request_hash="h",
            created_at=day(3, 8),
        )
    )
    h.receipt(day(11, 1, 2025), 7000, cards["D"])
    h.receipt(day(3, 15), 4000, cards["D"], store=True)
    h.receipt(day(12, 1, 2025), 5000, cards["E"])
    h.receipt(day(6, 1, 2025), 6000, cards["F"])
    for d in (4, 11, 25):
        h.receipt(day(3, d), 1000)
    h.receipt(day(2, 27), 9999)  # February: outside the period
    session.commit()
    return cards


def test_every_kpi_matches_the_hand_computed_value(
    session: Session, demo: Program, history: dict[str, Card]
) -> None:
    k = kpis(session, demo, MARCH, APRIL)
    assert (k.receipts, k.receipts_with_card) == (7, 4)
    assert (k.revenue, k.revenue_with_card) == (12_500, 9_500)  # B's refund is netted
    assert k.average_check_with_card == pytest.approx(2375)
    assert k.average_check_without_card == pytest.approx(1000)
    assert k.check_uplift == pytest.approx(1.375)
    assert k.card_revenue_share == pytest.approx(0.76)
    assert k.card_penetration == pytest.approx(4 / 7)
    assert k.members_enrolled == 3  # A, B, C
    assert k.conversion_first == pytest.approx(2 / 3)  # A and B bought
    assert k.conversion_second == pytest.approx(1 / 2)  # only A bought twice
    assert k.repeat_share == pytest.approx(1 / 3)  # A of A, B, D
    assert k.purchases_per_person == pytest.approx(4 / 3)
    assert k.at_risk_share == pytest.approx(1 / 3)  # E among A, D, E


def test_kpis_per_store(session: Session, demo: Program, history: dict[str, Card]) -> None:
    store = session.scalars(select(Store).where(Store.code == "x")).one()
    k = kpis(session, demo, MARCH, APRIL, store_id=store.id)
    assert (k.receipts, k.revenue, k.card_penetration) == (1, 4000, 1.0)
    assert k.average_check_without_card is None and k.check_uplift is None


def test_lifecycle_stages_and_transitions(
    session: Session, services: Services, demo: Program, history: dict[str, Card]
) -> None:
    stages = member_stages(session, demo, APRIL)
    by_name = {name: stages[card.member_id] for name, card in history.items()}
    assert by_name == {
        "A": "active",
        "B": "newcomer",
        "C": "newcomer",
        "D": "active",
        "E": "at_risk",
        "F": "lost",
    }
    clock = FixedClock(APRIL)
    assert len(refresh_stages(session, clock, demo)) == 6  # everyone gets a first stage
    assert refresh_stages(session, clock, demo) == []
    clock.advance(days=70)  # E passes 180 quiet days; B and C stop being new
    moved = {(m, f, t) for m, f, t in refresh_stages(session, clock, demo)}
    members = {name: card.member_id for name, card in history.items()}
    assert (members["E"], "at_risk", "lost") in moved
    assert (members["C"], "newcomer", "lost") not in moved
    assert session.scalars(select(StageTransition).where(StageTransition.to_stage == "lost")).all()


def test_stage_rules_at_their_edges() -> None:
    t = Thresholds(newcomer_days=60, at_risk_after_days=90, lost_after_days=180)
    now = day(6, 1)
    joined = day(1, 1)
    assert stage(day(5, 1), 1, day(5, 2), now, t) == "newcomer"
    assert stage(joined, 2, day(3, 3), now, t) == "active"  # 90 quiet days: still active
    assert stage(joined, 2, day(3, 2), now, t) == "at_risk"
    assert stage(joined, 5, day(11, 1, 2025), now, t) == "lost"
    assert stage(joined, 0, None, now, t) == "at_risk"  # never bought: silence since joining
    with pytest.raises(ValueError):
        Thresholds(30, 90, 60)


def test_kpis_per_lifecycle_segment(
    session: Session, services: Services, demo: Program, history: dict[str, Card]
) -> None:
    from app.analytics.kpis import kpis_by_stage

    refresh_stages(session, FixedClock(APRIL), demo)
    session.commit()
    rows = {k.stage: k for k in kpis_by_stage(session, demo, MARCH, APRIL)}
    # Active: A (1 000 + 3 000) and D (4 000); newcomers: B (2 000 - 500 refunded) and C.
    assert (rows["active"].members, rows["active"].buyers, rows["active"].receipts) == (2, 2, 3)
    assert rows["active"].revenue == 8_000 and rows["active"].revenue_per_member == pytest.approx(
        4_000
    )
    assert rows["active"].purchases_per_buyer == pytest.approx(1.5)
    assert (rows["newcomer"].members, rows["newcomer"].buyers, rows["newcomer"].revenue) == (
        2,
        1,
        1_500,
    )
    assert rows["at_risk"].receipts == 0 and rows["at_risk"].members == 1
    assert rows["lost"].average_check is None


def test_kpis_per_lifecycle_segment_from_the_rollups(
    session: Session, demo: Program, history: dict[str, Card]
) -> None:
    """March from local midnight to local midnight: the receipts give the table until
    the rollups are built, the card visits after, and both the hand sums above."""
    from app.analytics import rollups
    from app.analytics.kpis import kpis_by_stage
    from app.analytics.rebuild import rebuild

    refresh_stages(session, FixedClock(APRIL), demo)
    start = rollups.midnight(demo, rollups.day_of(demo, day(3, 1)))
    end = rollups.midnight(demo, rollups.day_of(demo, day(4, 1)))
    assert rollups.day_windows(session, demo, [(start, end)]) is None
    from_receipts = kpis_by_stage(session, demo, start, end)
    rebuild(session, demo, APRIL)
    assert rollups.day_windows(session, demo, [(start, end)]) is not None
    rows = {k.stage: k for k in kpis_by_stage(session, demo, start, end)}
    assert list(rows.values()) == from_receipts
    assert (rows["active"].buyers, rows["active"].receipts, rows["active"].revenue) == (2, 3, 8_000)
    assert (rows["newcomer"].buyers, rows["newcomer"].receipts) == (1, 1)
    assert rows["newcomer"].revenue == 1_500  # B's 2 000 less the 500 refunded
    assert rows["at_risk"].receipts == rows["lost"].receipts == 0
