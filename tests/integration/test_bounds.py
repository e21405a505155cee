"""Issue 17, finding 5: every number and date has a domain bound, money fits its
columns on PostgreSQL, and a campaign the worker cannot run ends failed with a reason."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import Campaign
from app.loyalty import ledger
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Program
from app.services import campaigns, enrollment, terminals
from app.services.programs import seed_demo
from app.till.models import Receipt
from app.web import create_app
from app.worker import handlers
from tests.helpers import console_login

BIG = 50_000_000_000  # 500 million in major units: above int4, within the API's bound


def test_large_amounts_and_balances_round_trip_on_postgres(pg_services: Services) -> None:
    services = pg_services
    with services.transaction() as session:
        program = seed_demo(session, services.clock)
        form = enrollment.EnrollmentForm(name="Big", phone="+79007770001", consent=True)
        card = enrollment.enroll(
            session, services.clock, program, enrollment.validate(form, program, None)
        )
        ledger.credit(
            session,
            card,
            points=3_000_000_000,
            kind="adjust",
            now=services.clock.now(),
            valid_days=None,
            reference="seed",
        )
        _, key = terminals.add_terminal(session, services.clock, program, "Till")
        barcode = f"{card.number}-{card.barcode_secret}"
        card_id = card.id
    client = create_app(services=services).test_client()
    response = client.post(
        "/api/pos/v1/purchases",
        json={"receipt_id": "R-big", "amount": BIG, "barcode": barcode},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.get_data()
    with services.transaction(write=False) as session:
        receipt = session.scalars(select(Receipt).where(Receipt.receipt_id == "R-big")).one()
        assert receipt.amount == BIG
        balance = session.get(Card, card_id).balance  # type: ignore[union-attr]
        assert balance == 3_000_000_000 + receipt.points_earned
        assert response.get_json()["balance"] == balance


def test_the_ledger_refuses_a_validity_beyond_ten_years_and_absurd_points(
    session: Session, services: Services, demo: Program
) -> None:
    form = enrollment.EnrollmentForm(name="A", phone="+79007770002", consent=True)
    card = enrollment.enroll(session, services.clock, demo, enrollment.validate(form, demo, None))
    for points, days in ((10, 100_000_000), (10, -1), (10**12, None)):
        with pytest.raises(ValidationError):
            ledger.credit(
                session,
                card,
                points=points,
                kind="adjust",
                now=services.clock.now(),
                valid_days=days,
                reference="x",
            )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bonus_days": 100_000_000}, "bonus_days"),
        (
            {"segment": {"last_purchase_within_days": 1_000_000}},
            "segment.last_purchase_within_days",
        ),
    ],
)
def test_a_campaign_with_an_absurd_number_of_days_is_refused(
    session: Session, services: Services, demo: Program, change: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {"name": "n", "offer_en": "o", "offer_ru": "o", "segment": {}}
    values.update(change)
    with pytest.raises(ValidationError) as error:
        campaigns.create(session, services.clock, demo, campaigns.Draft(**values), "test")  # type: ignore[arg-type]
    assert field in error.value.fields


def test_a_campaign_failing_in_the_worker_ends_failed_with_its_reason(
    session: Session, services: Services, demo: Program
) -> None:
    # Stored before the bounds existed: the worker cannot build its segment.
    campaign = Campaign(
        program_id=demo.id,
        name="old",
        offer_en="o",
        offer_ru="o",
        segment={"last_purchase_within_days": 1_000_000_000},
        status="sending",
        created_by="test",
        created_at=services.clock.now(),
        send_at=services.clock.now(),
    )
    session.add(campaign)
    session.commit()
    huey = services.queue.huey
    huey.flush()
    handlers.attach(services, push=None)  # type: ignore[arg-type]
    services.queue.run_campaign(campaign.id)
    attempts = 0
    far = datetime.now() + timedelta(days=1)  # Huey's schedule is naive UTC
    for _ in range(10):  # the first run, its retries (scheduled later), then nothing
        tasks = [t for t in (huey.dequeue(), *huey.read_schedule(far)) if t is not None]
        if not tasks:
            break
        for task in tasks:
            attempts += task.name == "run_campaign"
            task.eta = None  # run the retry now instead of in 30 s
            huey.execute(task)
    assert attempts == 3  # the first run and its two retries
    session.expire_all()
    failed = session.get(Campaign, campaign.id)
    assert failed is not None
    # Stopped for good (no longer "sending"), and says why.
    assert failed.state == "failed" and failed.status == "cancelled"
    assert failed.failure_reason and "last_purchase_within_days" in failed.failure_reason


def test_the_console_shows_a_failed_campaign_and_why(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    campaign = Campaign(
        program_id=demo.id,
        name="old",
        offer_en="o",
        offer_ru="o",
        segment={},
        status="sending",
        created_by="test",
        created_at=services.clock.now(),
    )
    session.add(campaign)
    session.flush()
    campaigns.mark_failed(session, services.clock, campaign.id, "OverflowError: date\x1b[31m")
    session.commit()
    console_login(client, session, services, "marketer")
    page = client.get(f"/console/campaigns/{campaign.id}?lang=en").get_data(as_text=True)
    assert "failed" in page and "stopped after repeated errors: OverflowError: date" in page
    assert "\x1b" not in page
    listing = client.get("/console/campaigns?lang=en").get_data(as_text=True)
    assert "status-failed" in listing
