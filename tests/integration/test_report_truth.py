"""Issue 14 item 5 in CI: the campaign report's 95 % interval holds the true effect of
simulated campaigns (bench/report_truth.py runs 20 chains and expects at least 17)."""

from __future__ import annotations

from sqlalchemy import select

from app.bootstrap import Services
from app.campaigns.models import Campaign, SimulatedEffect
from app.services import campaigns
from app.services.programs import seed_demo
from app.simulate import bulk, model
from tests.helpers import START

SEEDS = range(1000, 1008)  # fixed: the same chains, the same verdict, every run


def test_the_report_interval_holds_the_true_effect_of_simulated_campaigns(
    sqlite_services: Services,
) -> None:
    held = []
    for seed in SEEDS:
        spec = model.Spec(seed, members=1_500, receipts=10_000, stores=6, days=60, end=START)
        with sqlite_services.transaction() as session:
            program = seed_demo(session, sqlite_services.clock)
            bulk.simulate(session, sqlite_services.clock, program, spec)
        with sqlite_services.transaction(write=False) as session:
            campaign = session.scalars(select(Campaign).order_by(Campaign.id.desc())).first()
            assert campaign is not None
            truth = session.get(SimulatedEffect, campaign.id)
            assert truth is not None and truth.uplift_per_card > 0
            # What the console and the staff API show for the campaign.
            report = campaigns.report(session, campaign)
            assert report.holdout.cards > 0
            low, high = report.ci95
            held.append(low <= truth.uplift_per_card <= high)
    assert sum(held) >= 6, held
