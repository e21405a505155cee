"""The daily stage refresh, computed in SQL, against the rule function ``stage()`` for
members on each side of every threshold, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.analytics.kpis import thresholds_of
from app.analytics.lifecycle import stage
from app.analytics.models import KpiRollupState
from app.analytics.rebuild import rebuild
from app.bootstrap import Services
from app.campaigns.models import CampaignTarget
from app.clock import FixedClock
from app.db import new_public_id
from app.loyalty.models import Card, Member, Program, StageTransition
from app.services import campaigns, terminals
from app.services.campaign_triggers import fire_trigger_many
from app.services.lifecycle import refresh_stages
from app.services.programs import seed_demo
from tests.helpers import sale

NOW = datetime(2026, 9, 1, 3, 0, 0, 250_000, tzinfo=ZoneInfo("Europe/Moscow"))


@dataclass
class Shopper:
    member_id: int
    card_id: int | None
    enrolled: datetime
    purchases: list[datetime]

    def expected(self, program: Program) -> str:
        before = [p for p in self.purchases if p < NOW]
        last = max(before, default=None)
        return stage(self.enrolled, len(before), last, NOW, thresholds_of(program))


def ages(program: Program) -> list[timedelta]:
    """The day before, at and after each threshold, and the instants around where a
    whole number of days flips: (now - t).days == n up to t == now - (n + 1) days."""
    out = []
    for days in (program.newcomer_days, program.at_risk_after_days, program.lost_after_days):
        out += [timedelta(days=d, hours=5) for d in (days - 1, days, days + 1)]
        edge = timedelta(days=days + 1)
        out += [edge - timedelta(seconds=1), edge, edge + timedelta(seconds=1)]
    return out


def populate(session: Session, clock: FixedClock, program: Program) -> list[Shopper]:
    terminal = terminals.add_terminal(session, clock, program, "T")[0]
    shoppers: list[Shopper] = []

    def member(enrolled: datetime, purchases: list[datetime], card: bool = True) -> None:
        n = len(shoppers)
        row = Member(
            program_id=program.id,
            phone=f"+7906{n:07d}",
            name=f"M{n}",
            locale="ru",
            marketing_consent=n % 7 != 3,  # some may not be advertised to
            created_at=enrolled,
        )
        session.add(row)
        session.flush()
        card_id = None
        if card:
            c = Card(
                public_id=new_public_id(),
                program_id=program.id,
                member_id=row.id,
                number=f"{n:013d}",
                barcode_secret="S" * 10,
                tier_id=program.default_tier.id,
                balance=0,
                status="active",
                created_at=enrolled,
            )
            session.add(c)
            session.flush()
            card_id = c.id
            for i, at in enumerate(purchases):
                session.add(sale(terminal, f"r{n}-{i}", at, 1000, card_id))
        shoppers.append(Shopper(row.id, card_id, enrolled, purchases))

    long_ago = NOW - timedelta(days=400)
    for age in ages(program):
        then = NOW - age
        member(then, [])  # silence since enrolling, with a card
        member(then, [], card=False)
        member(then, [NOW - timedelta(days=1)])  # young with one purchase
        member(then, [then, NOW - timedelta(days=1)])  # two purchases: never a newcomer
        member(long_ago, [then])
        member(long_ago, [long_ago + timedelta(days=3), then])
        member(long_ago, [long_ago + timedelta(days=3), then, NOW])  # bought at the job's instant
        member(long_ago, [then, NOW + timedelta(days=2)])  # a purchase after the job's instant
    member(NOW, [])  # enrolled at the job's instant: no stage yet
    member(NOW + timedelta(hours=1), [], card=False)
    session.flush()
    return shoppers


def stored(session: Session, program: Program) -> dict[int, str | None]:
    rows = session.execute(select(Member.id, Member.stage).where(Member.program_id == program.id))
    return {member_id: name for member_id, name in rows}


@pytest.mark.parametrize("rolled_up", [False, True], ids=["from receipts", "from rollups"])
def test_the_refresh_gives_every_member_the_stage_of_the_rule_function(
    real_services: Services, clock: FixedClock, rolled_up: bool
) -> None:
    """Before the rollups hold the program the purchases are read from the receipts;
    after, from each card's first, second and last purchase."""
    with real_services.transaction() as session:
        program = seed_demo(session, clock)
        shoppers = populate(session, clock, program)
        if rolled_up:
            rebuild(session, program, NOW)
            assert session.get(KpiRollupState, program.id) is not None
        expected = {s.member_id: s.expected(program) for s in shoppers if s.enrolled < NOW}
        assert {"newcomer", "active", "at_risk", "lost"} == set(expected.values())
        win_back = campaigns.create(
            session,
            clock,
            program,
            campaigns.Draft(
                name="Come back",
                offer_en="-20 %",
                offer_ru="-20 %",
                segment={},
                holdout_percent=0,
                trigger="win_back",
            ),
            "test",
        )
        session.flush()
        assert win_back.status == "active"
        job = FixedClock(NOW)

        # First computation: everyone enrolled before now gets a stage, nobody a message.
        moved = refresh_stages(session, job, program)
        assert moved == sorted((m, None, name) for m, name in expected.items())
        by_member = stored(session, program)
        assert {m: by_member[m] for m in expected} == expected
        late = [s.member_id for s in shoppers if s.enrolled >= NOW]
        assert [by_member[m] for m in late] == [None, None]
        assert refresh_stages(session, job, program) == []
        assert session.scalars(select(CampaignTarget)).all() == []

        # Known members all stored as active: the others move, into at risk with a
        # win-back message when they have a card (and the advertising consent).
        session.execute(update(Member).values(stage="active"))
        lost = next(m for m, name in expected.items() if name == "lost")
        loaded = session.get(Member, lost)  # held by the session: not left stale
        assert loaded is not None and loaded.stage == "active"
        moved = refresh_stages(session, job, program)
        assert (loaded.stage, loaded.stage_since) == ("lost", NOW)
        assert moved == sorted((m, "active", n) for m, n in expected.items() if n != "active")
        assert {m: stored(session, program)[m] for m in expected} == expected
        transitions = session.execute(
            select(StageTransition.member_id, StageTransition.from_stage, StageTransition.to_stage)
            .where(StageTransition.from_stage == "active")
            .order_by(StageTransition.member_id)
        ).all()
        assert [tuple(t) for t in transitions] == moved
        consenting = set(
            session.scalars(select(Member.id).where(Member.marketing_consent.is_(True)))
        )
        messaged = {
            s.card_id
            for s in shoppers
            if expected.get(s.member_id) == "at_risk"
            and s.card_id is not None
            and s.member_id in consenting
        }
        targets = session.scalars(
            select(CampaignTarget.card_id).where(CampaignTarget.campaign_id == win_back.id)
        ).all()
        assert messaged and sorted(targets) == sorted(messaged)
        assert any(s.card_id is None and expected.get(s.member_id) == "at_risk" for s in shoppers)
        session.rollback()


def test_a_trigger_fired_for_many_cards_targets_what_card_by_card_firing_does(
    real_services: Services, clock: FixedClock
) -> None:
    """Two running win-back campaigns (one with a holdout), cards with and without the
    consent, a blocked card, cards the first campaign already targeted (done for it,
    and within the frequency cap for the second): the batch writes the same targets
    and offers as ``fire_trigger`` per card."""
    with real_services.transaction() as session:
        program = seed_demo(session, clock)
        populate(session, clock, program)
        cards = list(session.scalars(select(Card.id).order_by(Card.id)))
        session.execute(update(Card).where(Card.id == cards[1]).values(status="blocked"))

        def running(name: str, holdout: float) -> int:
            draft = campaigns.Draft(
                name=name,
                offer_en=name,
                offer_ru=name,
                segment={},
                holdout_percent=holdout,
                trigger="win_back",
            )
            return campaigns.create(session, clock, program, draft, "test").id

        first, _ = running("First", 30), running("Second", 0)
        for card in cards[:6]:
            campaigns.fire_trigger(
                session, clock, program.id, "win_back", card, campaign_ids=[first]
            )
        clock.advance(days=1)

        def outcome() -> tuple[object, ...]:
            targets = session.execute(
                select(
                    CampaignTarget.campaign_id,
                    CampaignTarget.card_id,
                    CampaignTarget.holdout,
                    CampaignTarget.skipped,
                    CampaignTarget.applied_at,
                ).order_by(CampaignTarget.campaign_id, CampaignTarget.card_id)
            ).all()
            offers = session.execute(
                select(Card.id, Card.offer_en, Card.offer_campaign_id).order_by(Card.id)
            ).all()
            return tuple(targets), tuple(offers)

        one_by_one = session.begin_nested()
        applied = sum(
            campaigns.fire_trigger(session, clock, program.id, "win_back", card) for card in cards
        )
        expected = outcome()
        one_by_one.rollback()
        assert fire_trigger_many(session, clock, program.id, "win_back", cards) == applied
        assert outcome() == expected
        targets, _ = expected
        skipped = {skip for *_, skip, _ in targets}
        assert applied and {None, "frequency_cap"} <= skipped
        assert any(holdout for _, _, holdout, _, _ in targets)
        session.rollback()
