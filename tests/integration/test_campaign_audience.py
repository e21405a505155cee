"""A campaign's audience snapshot on SQLite and PostgreSQL: the worker's memory does not
grow with the audience (a chain's campaign reaches a million cards)."""

from __future__ import annotations

import tracemalloc

from app.bootstrap import Services
from app.loyalty.models import Program
from app.services import campaigns
from app.services.programs import seed_demo
from app.simulate.population import registered_passes
from tests.integration.test_campaigns import draft


def _program(services: Services, stages: dict[str, int]) -> int:
    """A program with ``n`` registered cards in each given stage."""
    with services.transaction() as tx:
        program = seed_demo(tx, services.clock)
        for k, (stage, n) in enumerate(stages.items()):
            tokens = [f"{k:024x}{i:040x}" for i in range(n)]  # devices are named by the head
            registered_passes(tx, program, tokens, services.clock.now(), stage=stage)
        return program.id


def _campaign(services: Services, program_id: int, **kw: object) -> int:
    with services.transaction() as tx:
        program = tx.get(Program, program_id)
        assert program is not None
        campaign = campaigns.create(tx, services.clock, program, draft(**kw), "test")
        return campaign.id


def _snapshot(services: Services, campaign_id: int) -> int:
    with services.transaction() as tx:
        return campaigns.select_targets(tx, services.clock, campaign_id)


def test_the_snapshot_holds_no_more_memory_for_a_larger_audience(
    real_services: Services,
) -> None:
    program_id = _program(real_services, {"at_risk": 2_000, "lost": 10_000})
    small = _campaign(real_services, program_id, segment={"stages": ["at_risk"]})
    large = _campaign(real_services, program_id, segment={"stages": ["at_risk", "lost"]})
    peaks = []
    tracemalloc.start()
    try:
        for campaign_id, audience in ((small, 2_000), (large, 12_000)):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            assert _snapshot(real_services, campaign_id) == audience
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    # Built as rows in the worker, the audience cost ~1 KB a card (10.5 MB more here, ~1 GB
    # at a million cards, most of it kept by the process after the transaction).
    assert peaks[1] - peaks[0] < 1024 * 1024, peaks
