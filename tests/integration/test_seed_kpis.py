"""The seed cases' KPIs on a hand-made history: loyal buyers, repeat purchases, card
adoption and revenue from automated communications, checked against hand-computed values
and the row-by-row reference, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from app.analytics import rollups
from app.analytics.rebuild import rebuild
from app.bootstrap import Services
from app.campaigns.models import Campaign, CampaignTarget
from app.db import new_public_id
from app.loyalty.models import Card, Member, Program
from app.passes.models import AppleDevice, AppleRegistration, GoogleObject, WalletPass
from app.services import campaigns, terminals, wallet_counts
from app.services.programs import seed_demo
from app.services.seed_kpis import seed_kpis
from app.till.models import Refund, Terminal
from tests.helpers import sale
from tests.integration.kpi_reference import reference_seed_kpis

MARCH, APRIL = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)


def day(month: int, d: int, year: int = 2026) -> datetime:
    return datetime(year, month, d, 12, tzinfo=UTC)


class Made:
    def __init__(self, session: Session, services: Services, program: Program) -> None:
        self.session, self.program, self.n = session, program, 0
        self.terminal: Terminal = terminals.add_terminal(session, services.clock, program, "T")[0]

    def card(self) -> Card:
        self.n += 1
        member = Member(
            program_id=self.program.id,
            phone=f"+7906100{self.n:04d}",
            name=f"M{self.n}",
            locale="ru",
            marketing_consent=True,
            created_at=day(1, 1, 2025),
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
            created_at=day(1, 1, 2025),
        )
        self.session.add(card)
        self.session.flush()
        return card

    def buy(self, card: Card | None, at: datetime, due: int) -> int:
        self.n += 1
        receipt = sale(self.terminal, f"r{self.n}", at, due, card.id if card else None)
        self.session.add(receipt)
        self.session.flush()
        return receipt.id

    def wallet_pass(self, card: Card) -> WalletPass:
        found = WalletPass(
            card_id=card.id,
            serial_number=new_public_id(),
            auth_token="t" * 24,
            version=1,
            updated_at=MARCH,
            last_modified=0,
            created_at=MARCH,
        )
        self.session.add(found)
        self.session.flush()
        return found

    def campaign(self, trigger: str, holdout_bp: int) -> Campaign:
        campaign = Campaign(
            program_id=self.program.id,
            name=trigger,
            offer_en="x",
            offer_ru="x",
            segment={},
            holdout_bp=holdout_bp,
            status="active",
            trigger=trigger,
            created_by="test",
            created_at=day(1, 1),
        )
        self.session.add(campaign)
        self.session.flush()
        return campaign

    def target(
        self,
        campaign: Campaign,
        card: Card,
        at: datetime,
        holdout: bool,
        skipped: str | None = None,
    ) -> None:
        self.session.add(
            CampaignTarget(
                campaign_id=campaign.id,
                card_id=card.id,
                holdout=holdout,
                targeted_at=at,
                skipped=skipped,
                applied_at=None if holdout else at,
            )
        )


def build(session: Session, services: Services, program: Program) -> tuple[Campaign, list[Card]]:
    """Rule: 3 purchases within 365 days. March's receipts: M1 1 000 (Mar 5) and 2 000
    (Mar 20, 500 refunded Mar 25); M3 3 000 (first ever); M4 1 000 twice; no card 4 000.
    Earlier: M1 Jan 10 and Feb 10; M2 2025-06-01, 2025-09-01, 2026-02-01; M4 2025-01-15."""
    program.loyal_min_purchases = 3
    made = Made(session, services, program)
    m1, m2, m3, m4 = (made.card() for _ in range(4))
    for card, at, due in [
        (m1, day(1, 10), 1000),
        (m1, day(2, 10), 1000),
        (m1, day(3, 5), 1000),
        (m2, day(6, 1, 2025), 500),
        (m2, day(9, 1, 2025), 500),
        (m2, day(2, 1), 500),
        (m3, day(3, 10), 3000),
        (m4, day(1, 15, 2025), 700),
        (m4, day(3, 12), 1000),
        (m4, day(3, 13), 1000),
        (None, day(3, 15), 4000),
    ]:
        made.buy(card, at, due)
    refunded = made.buy(m1, day(3, 20), 2000)
    session.add(
        Refund(
            receipt_pk=refunded,
            terminal_id=made.terminal.id,
            refund_id="f1",
            amount=500,
            money_back=500,
            points_returned=0,
            points_taken_back=0,
            request_hash="h",
            created_at=day(3, 25),
        )
    )
    # Wallets now: M1 on an iPhone, M2 in Google Wallet, M3 removed from Google Wallet.
    device = AppleDevice(library_id="lib", push_token="0" * 64, created_at=MARCH, updated_at=MARCH)
    session.add(device)
    session.flush()
    session.add(
        AppleRegistration(device_id=device.id, pass_id=made.wallet_pass(m1).id, created_at=MARCH)
    )
    for n, (card, removed) in enumerate([(m2, None), (m3, day(3, 2))]):
        session.add(
            GoogleObject(
                pass_id=made.wallet_pass(card).id,
                object_id=f"obj{n}",
                saved_at=MARCH,
                removed_at=removed,
                created_at=MARCH,
            )
        )
    # Welcome: M1 and M3 got it, M4 and M2 held out; a skipped target and one targeted
    # before the period do not count. Birthday: no holdout, nothing can be attributed.
    welcome = made.campaign("welcome", 2500)
    made.target(welcome, m1, day(3, 4), holdout=False)
    made.target(welcome, m3, day(3, 9), holdout=False)
    made.target(welcome, m4, day(3, 11), holdout=True)
    made.target(welcome, m2, MARCH, holdout=True)
    made.target(welcome, made.card(), day(3, 3), holdout=False, skipped="frequency_cap")
    made.target(welcome, made.card(), day(2, 20), holdout=False)
    made.target(made.campaign("birthday", 0), m3, day(3, 10), holdout=False)
    session.flush()
    wallet_counts.rebuild(session, program)  # wallets written around the PassKit service
    session.commit()
    return welcome, [m1, m2, m3, m4]


def test_seed_kpis_match_hand_sums_and_the_reference(real_services: Services) -> None:
    services = real_services
    with services.write_sessions() as session:
        demo = seed_demo(session, services.clock)
        session.commit()
        welcome, _ = build(session, services, demo)
        found = seed_kpis(session, demo, MARCH, APRIL).as_json()
        assert found == reference_seed_kpis(session, demo, MARCH, APRIL)
        # Loyal: M1 (Jan, Feb, Mar ×2) and M2 (three in the year) at the end; M2 alone
        # at the start (M1 had two). Revenue 11 500 net, loyal M1's 1 000 + 1 500.
        assert found["loyal_buyers"] == 2
        assert found["loyal_buyers_previous"] == 1
        assert found["loyal_buyers_change"] == 1.0
        assert found["loyal_revenue"] == 2500
        assert found["loyal_revenue_share"] == pytest.approx(2500 / 11500)
        # Five card purchases in March; all but M3's first-ever one are repeats.
        assert (found["card_purchases"], found["repeat_purchases"]) == (5, 4)
        assert found["repeat_purchase_share"] == 0.8
        # Six members (two only as extra targets); M1 and M2 have the card in a wallet.
        adoption = found["card_adoption"]
        assert (adoption["members"], adoption["installed"]) == (6, 2)
        assert adoption["share"] == pytest.approx(2 / 6)
        assert adoption["by_wallet_app"] == {
            "apple_wallet": {"cards": 1, "share": pytest.approx(1 / 6)},
            "google_wallet": {"cards": 1, "share": pytest.approx(1 / 6)},
        }
        # Welcome: sent M1 3 000 (Mar 5 + Mar 20, the month from Mar 4), M3 3 000; held
        # out M4 2 000, M2 0. Uplift 3 000 - 1 000 per card, ×2 cards = 4 000;
        # SE of the difference sqrt(0/2 + 2 000 000/2) = 1 000, ×2 cards, ×1.96.
        auto = found["automated_revenue"]
        assert auto["revenue"] == pytest.approx(4000)
        assert auto["ci95"] == [pytest.approx(80), pytest.approx(7920)]
        assert auto["by_source"]["welcome"]["targets"] == 2
        assert auto["by_source"]["welcome"]["holdout"] == 2
        assert auto["by_source"]["birthday"] == {
            "targets": 1,
            "holdout": 0,
            "revenue": 0.0,
            "ci95": [0.0, 0.0],
            "campaigns_without_holdout": 1,
        }
        # A campaign's own report counts each target from its own moment too: 14 days
        # from Mar 4 take M1's Mar 5 receipt but not Mar 20's.
        report = campaigns.report(session, welcome, days=14)
        assert (report.targets.cards, report.targets.revenue) == (3, 4000)  # + the Feb one
        assert (report.holdout.cards, report.holdout.revenue) == (2, 2000)


def test_seed_kpis_from_the_rollups_equal_the_receipts(real_services: Services) -> None:
    """For a period on local midnights, once the rollups are built, the figures come from
    them and equal what the receipts give (and the reference), before and after a rebuild."""
    services = real_services
    with services.write_sessions() as session:
        demo = seed_demo(session, services.clock)
        session.commit()
        build(session, services, demo)
        start = rollups.midnight(demo, rollups.day_of(demo, day(3, 1)))
        end = rollups.midnight(demo, rollups.day_of(demo, day(4, 1)))
        windows = [(start, end), (start, rollups.midnight(demo, rollups.day_of(demo, day(3, 13))))]
        year = timedelta(days=demo.loyal_window_days)
        assert rollups.day_windows(session, demo, [(start - year, end)]) is None
        from_receipts = [seed_kpis(session, demo, *w).as_json() for w in windows]
        rebuild(session, demo, services.clock.now())
        session.commit()
        assert rollups.day_windows(session, demo, [(start - year, end)]) is not None
        for window, expected in zip(windows, from_receipts, strict=True):
            found = seed_kpis(session, demo, *window).as_json()
            assert found == expected == reference_seed_kpis(session, demo, *window)
        # March as in the hand sums: M1 and M2 loyal at the end, M2 at the start; M3's
        # first purchase ever is the one card purchase that is not a repeat.
        march = seed_kpis(session, demo, start, end).as_json()
        assert (march["loyal_buyers"], march["loyal_buyers_previous"]) == (2, 1)
        assert march["loyal_revenue"] == 2500
        assert (march["card_purchases"], march["repeat_purchases"]) == (5, 4)
