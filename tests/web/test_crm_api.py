"""The staff API a CRM uses: tokens, segment sizes, campaigns, KPIs."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import Campaign
from app.loyalty.models import Program
from app.services import staff
from app.services.jobs import all_programs
from app.staff.models import StaffApiToken
from tests.helpers import population


def token_for(session: Session, services: Services, role: str) -> str:
    user = staff.add_user(
        session,
        services.clock,
        email=f"{role}@example.com",
        name=role,
        role=role,
        password="a long enough passphrase",
        actor="test",
        programs=all_programs(session),
    )
    token = staff.create_api_token(session, services.clock, user, "crm")
    session.commit()
    return token


def call(client: FlaskClient, method: str, path: str, token: str, body: Any = None) -> Any:
    return client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def marketer(session: Session, services: Services, demo: Program) -> str:
    return token_for(session, services, "marketer")


def test_tokens_are_required_stored_hashed_and_revocable(
    client: FlaskClient, session: Session, services: Services, marketer: str
) -> None:
    path = "/api/v1/programs/demo/segments/size"
    assert client.post(path, json={"segment": {}}).status_code == 401
    assert call(client, "POST", path, "wps_nope_nope", {"segment": {}}).status_code == 401
    assert call(client, "POST", path, marketer, {"segment": {}}).status_code == 200
    row = session.scalars(select(StaffApiToken)).one()
    assert marketer not in row.token_hash
    row.revoked_at = services.clock.now()
    session.commit()
    assert call(client, "POST", path, marketer, {"segment": {}}).status_code == 401


def test_store_managers_may_read_kpis_but_not_run_campaigns(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    manager = token_for(session, services, "store_manager")
    denied = call(client, "POST", "/api/v1/programs/demo/campaigns", manager, {})
    assert denied.status_code == 403 and denied.json["error"]["code"] == "forbidden"
    kpis = call(client, "GET", "/api/v1/programs/demo/kpis?from=2026-03-01&to=2026-04-01", manager)
    assert kpis.status_code == 200 and kpis.json["receipts"] == 0


def test_a_crm_sizes_a_segment_and_launches_a_campaign(
    client: FlaskClient, session: Session, services: Services, demo: Program, marketer: str
) -> None:
    population(session, services, demo, 20)
    size = call(
        client,
        "POST",
        "/api/v1/programs/demo/segments/size",
        marketer,
        {"segment": {"stages": ["at_risk"], "wallet": "apple"}},
    )
    assert size.json == {"size": 5}
    bad = call(
        client,
        "POST",
        "/api/v1/programs/demo/campaigns",
        marketer,
        {"name": "", "offer_en": "x", "segment": {"stages": ["vip"]}, "colour": 1},
    )
    # Every mistake at once: the unknown field, the empty name, the missing offer, the stage.
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"colour", "name", "offer_ru", "segment.stages[0]"}
    incomplete = call(
        client,
        "POST",
        "/api/v1/programs/demo/campaigns",
        marketer,
        {"name": "", "offer_en": "x", "segment": {"stages": ["vip"]}},
    )
    assert incomplete.status_code == 422
    assert set(incomplete.json["error"]["fields"]) == {"name", "offer_ru", "segment.stages[0]"}
    services.queue.huey.flush()
    created = call(
        client,
        "POST",
        "/api/v1/programs/demo/campaigns",
        marketer,
        {
            "name": "Come back",
            "offer_en": "-15 % this week",
            "offer_ru": "-15 % на этой неделе",
            "segment": {"stages": ["at_risk"]},
            "holdout_percent": 20,
            "bonus_points": 100,
        },
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["status"] == "sending" and body["holdout_percent"] == 20.0
    queued = [t.args for t in services.queue.huey.pending() if t.name == "run_campaign"]
    assert queued == [(body["id"],)]
    campaign = session.get(Campaign, body["id"])
    assert campaign is not None and campaign.created_by == "marketer@example.com"
    got = call(client, "GET", f"/api/v1/campaigns/{body['id']}", marketer)
    assert got.json["progress"]["targets"] == 0  # the worker has not run yet
    assert call(client, "GET", "/api/v1/campaigns/999", marketer).status_code == 404


def test_the_kpis_endpoint_reports_the_seed_figures(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    from tests.integration.kpi_reference import reference_seed_kpis
    from tests.integration.test_seed_kpis import APRIL, MARCH, build

    build(session, services, demo)
    manager = token_for(session, services, "store_manager")
    found = call(client, "GET", "/api/v1/programs/demo/kpis?from=2026-03-01&to=2026-04-01", manager)
    assert found.status_code == 200
    expected = reference_seed_kpis(session, demo, MARCH, APRIL)
    assert {k: found.json[k] for k in expected} == expected
    assert found.json["loyal_buyers"] == 2 and found.json["repeat_purchase_share"] == 0.8
    assert found.json["automated_revenue"]["revenue"] == 4000
