"""One campaign start for the console and the staff API: whichever way a marketer
starts a campaign now, it ends up sending, started at the same moment, and handed to the
worker exactly once after the commit."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import Campaign
from app.loyalty.models import Program
from tests.web.test_console_campaigns import log_in, post_campaign
from tests.web.test_crm_api import call, token_for

OFFER = {"name": "Spring", "offer_ru": "−10 %", "offer_en": "-10 %"}


def started(session: Session, services: Services) -> tuple[Any, ...]:
    """The one campaign's state and the worker's queue, as the worker would see them."""
    session.expire_all()
    campaign = session.scalars(select(Campaign)).one()
    tasks = [(t.name, tuple(t.args)) for t in services.queue.huey.pending()]
    return campaign.status, campaign.started_at, tasks, campaign.id


def expect_one_start(session: Session, services: Services) -> None:
    status, started_at, tasks, campaign_id = started(session, services)
    assert status == "sending"
    assert started_at == services.clock.now()
    assert tasks == [("run_campaign", (campaign_id,))]


def test_the_console_confirmation_starts_the_campaign_once(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    log_in(client, session, services, "marketer")
    services.queue.huey.flush()
    response = post_campaign(client)  # the form, then its confirmation
    assert response.status_code == 303
    expect_one_start(session, services)


def test_the_api_starts_a_campaign_due_now_once(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    marketer = token_for(session, services, "marketer")
    services.queue.huey.flush()
    created = call(client, "POST", "/api/v1/programs/demo/campaigns", marketer, OFFER)
    assert created.status_code == 201 and created.json["status"] == "sending"
    expect_one_start(session, services)


def test_the_api_confirmation_starts_a_draft_once(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    marketer = token_for(session, services, "marketer")
    services.queue.huey.flush()
    body = {**OFFER, "draft": True}
    draft = call(client, "POST", "/api/v1/programs/demo/campaigns", marketer, body).json
    assert draft["status"] == "draft" and not list(services.queue.huey.pending())
    confirmed = call(client, "POST", f"/api/v1/campaigns/{draft['id']}/confirm", marketer)
    assert confirmed.status_code == 200
    expect_one_start(session, services)
