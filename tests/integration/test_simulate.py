"""`walletpass simulate`: the bulk history, live mode against a served app, the demo history."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.bootstrap import Services
from app.campaigns.models import Campaign, CampaignTarget, SimulatedEffect
from app.cli.simulate import DEMO_HISTORY, seed_history
from app.loyalty.models import Card, Member, Store
from app.passes.models import AppleDevice, AppleRegistration, GoogleObject
from app.services import campaigns, staff, terminals
from app.services.programs import seed_demo
from app.simulate import bulk, live, model
from app.till.models import Receipt
from tests.helpers import START

SMALL = model.Spec(seed=3, members=400, receipts=4_000, stores=6, days=90, end=START)


def _write(services: Services, spec: model.Spec) -> tuple[int, bulk.Result]:
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        return program.id, bulk.simulate(session, services.clock, program, spec)


def test_the_same_seed_draws_the_same_chain() -> None:
    first, again = model.shoppers(SMALL), model.shoppers(SMALL)
    assert first == again
    assert list(model.receipts(SMALL, first)) == list(model.receipts(SMALL, again))
    other = model.shoppers(replace(SMALL, seed=4))
    assert other != first


def test_bulk_writes_the_chain_with_its_wallets_and_campaign(real_services: Services) -> None:
    program_id, result = _write(real_services, SMALL)
    people = model.shoppers(SMALL)
    plan = model.campaigns(SMALL, people)[0]
    with real_services.transaction(write=False) as session:
        count = lambda stmt: session.scalar(select(func.count()).select_from(stmt))  # noqa: E731
        assert count(select(Member).where(Member.program_id == program_id).subquery()) == 400
        assert count(select(Card).subquery()) == 400
        codes = session.scalars(select(Store.code).where(Store.program_id == program_id)).all()
        assert {f"s{i:03d}" for i in range(1, 7)} <= set(codes)
        receipts = count(select(Receipt).where(Receipt.program_id == program_id).subquery())
        assert receipts == result.receipts >= 4_000
        # Every receipt lies in the history and every card receipt after its enrollment.
        first, last = session.execute(
            select(func.min(Receipt.created_at), func.max(Receipt.created_at))
        ).one()
        assert SMALL.start <= first and last <= SMALL.end
        early = session.scalar(
            select(func.count())
            .select_from(Receipt)
            .join(Card, Card.id == Receipt.card_id)
            .where(Receipt.created_at < Card.created_at)
        )
        assert early == 0
        # Cards sit in the wallet apps the shoppers chose.
        apps = Counter(p.wallet_app for p in people)
        by_app = dict(
            session.execute(
                select(AppleDevice.wallet_app, func.count())
                .join(AppleRegistration, AppleRegistration.device_id == AppleDevice.id)
                .group_by(AppleDevice.wallet_app)
            ).all()
        )
        assert by_app == {a: n for a, n in apps.items() if a not in (None, "google")}
        assert count(select(GoogleObject).subquery()) == apps["google"]
        stages = dict(
            session.execute(select(Member.stage, func.count()).group_by(Member.stage)).all()
        )
        assert stages == Counter(p.stage for p in people)
        # The campaign went to its targets, and its true effect is on record.
        campaign = session.scalars(select(Campaign)).one()
        assert count(
            select(CampaignTarget).where(CampaignTarget.campaign_id == campaign.id).subquery()
        ) == len(plan.targets)
        effect = session.get(SimulatedEffect, campaign.id)
        assert effect is not None and effect.uplift_per_card == plan.true_uplift_per_card
        report = campaigns.report(session, campaign)
        assert report.targets.cards + report.holdout.cards == len(plan.targets)
        assert report.holdout.cards > 0


def test_demo_history_is_added_once_and_fast(sqlite_services: Services) -> None:
    started = time.perf_counter()
    with sqlite_services.transaction() as session:
        program = seed_demo(session, sqlite_services.clock)
        assert seed_history(session, sqlite_services.clock, program, DEMO_HISTORY)
    took = time.perf_counter() - started
    with sqlite_services.transaction() as session:
        program = seed_demo(session, sqlite_services.clock)
        assert not seed_history(session, sqlite_services.clock, program, DEMO_HISTORY)
        receipts = session.scalar(select(func.count()).select_from(Receipt))
        assert receipts is not None and receipts >= DEMO_HISTORY.receipts
        assert session.scalar(select(func.count()).select_from(Member)) == DEMO_HISTORY.members
    assert took < 20, f"the demo history took {took:.1f} s"


@pytest.fixture
def served(sqlite_services: Services) -> Iterator[str]:
    from app.web import create_app

    server = make_server("127.0.0.1", 0, create_app(services=sqlite_services), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_live_mode_enrolls_installs_shops_and_sends_a_campaign(
    sqlite_services: Services, served: str
) -> None:
    with sqlite_services.transaction() as session:
        program = seed_demo(session, sqlite_services.clock)
        key = terminals.add_terminal(session, sqlite_services.clock, program, "Live till")[1]
        user = staff.add_user(
            session,
            sqlite_services.clock,
            email="crm@example.com",
            name="CRM",
            role="admin",
            password="a long enough passphrase",
            actor="test",
        )
        token = staff.create_api_token(session, sqlite_services.clock, user, "crm")
    driver = live.Driver(served, "demo", seed=5, terminal_key=key, crm_token=token)
    # A count of calls, not a duration: the same calls however loaded the machine is.
    done = driver.run(rate=40, duration=0, actions=60)
    assert not done.errors, done
    assert done.actions["enroll 201"] >= 5
    assert done.actions["register 201"] >= 1
    assert done.actions["purchase 201"] + done.actions["purchase 200"] >= 5
    assert done.campaign_id is not None
    with sqlite_services.transaction(write=False) as session:
        members = session.scalar(select(func.count()).select_from(Member))
        assert members == done.actions["enroll 201"]
        devices = session.scalars(select(AppleDevice.wallet_app)).all()
        assert len(devices) == done.actions["register 201"]
        assert set(devices) <= set(live.APP_HEADERS)
        bought = session.scalar(select(func.count()).select_from(Receipt))
        assert bought == done.actions["purchase 201"] + done.actions["purchase 200"]


def test_live_mode_refuses_a_url_that_is_not_http() -> None:
    with pytest.raises(live.LiveError, match="http"):
        live.Driver("ftp://example.test", "demo")
