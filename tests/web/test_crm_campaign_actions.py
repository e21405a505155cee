"""Staff API for safe campaigns: drafts with their confirmation figures, confirm, cancel,
triggers switched off/on and edited; validation, roles and program scope."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import Campaign
from app.loyalty.models import Program
from app.services import campaigns, staff
from app.services.programs import seed_demo
from app.staff.models import AuditEntry
from tests.helpers import population
from tests.web.test_crm_api import call, token_for


def test_a_draft_waits_for_confirm_and_can_be_cancelled(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    marketer = token_for(session, services, "marketer")
    population(session, services, demo, 8)
    services.queue.huey.flush()
    body = {"name": "Spring", "offer_ru": "−10 %", "draft": True, "holdout_percent": 25}
    created = call(client, "POST", "/api/v1/programs/demo/campaigns", marketer, body)
    assert created.status_code == 201, created.json
    got = created.json
    assert got["status"] == "draft" and not list(services.queue.huey.pending())
    assert got["confirmation"] == {
        "audience": 8,
        "in_wallet": 8,
        "holdout": 2,
        "targets": 6,
        "holdout_too_small": True,
        "min_arm": 100,
    }
    confirmed = call(client, "POST", f"/api/v1/campaigns/{got['id']}/confirm", marketer)
    assert confirmed.status_code == 200 and confirmed.json["status"] == "sending"
    again = call(client, "POST", f"/api/v1/campaigns/{got['id']}/confirm", marketer)
    assert again.status_code == 409 and again.json["error"]["code"] == "wrong_state"
    cancelled = call(client, "POST", f"/api/v1/campaigns/{got['id']}/cancel", marketer)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("campaign.%")))
    assert list(actions) == ["campaign.drafted", "campaign.confirmed", "campaign.cancelled"]
    bad = call(
        client,
        "POST",
        "/api/v1/programs/demo/campaigns",
        marketer,
        {"name": "X", "offer_ru": "x", "ends_at": "tomorrow", "draft": "yes"},
    )
    assert bad.status_code == 422


def test_a_trigger_is_switched_and_edited(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    marketer = token_for(session, services, "marketer")
    body = {"name": "Welcome", "offer_ru": "Привет!", "trigger": "welcome", "draft": True}
    created = call(client, "POST", "/api/v1/programs/demo/campaigns", marketer, body).json
    assert (created["status"], created["trigger"]) == ("stopped", "welcome")
    path = f"/api/v1/campaigns/{created['id']}"
    assert call(client, "POST", f"{path}/resume", marketer).json["status"] == "active"
    assert call(client, "POST", f"{path}/resume", marketer).status_code == 409
    edited = call(client, "PATCH", path, marketer, {"bonus_points": 300, "holdout_percent": 5})
    assert edited.status_code == 200 and edited.json["holdout_percent"] == 5
    refused = call(client, "PATCH", path, marketer, {"segment": {}, "trigger_days": 3})
    assert refused.status_code == 422
    assert set(refused.json["error"]["fields"]) == {"segment"}
    not_birthday = call(client, "PATCH", path, marketer, {"trigger_days": 3})
    assert set(not_birthday.json["error"]["fields"]) == {"trigger_days"}
    assert call(client, "POST", f"{path}/pause", marketer).json["status"] == "stopped"
    session.expire_all()
    assert session.get(Campaign, created["id"]).bonus_points == 300  # type: ignore[union-attr]


def test_roles_and_scope(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    demo.slug = "north"
    session.flush()
    other = seed_demo(session, services.clock)
    theirs = campaigns.create(
        session, services.clock, other, campaigns.Draft("T", "t", "t", {}), "t"
    )
    session.commit()
    manager = token_for(session, services, "store_manager")
    for action in ("confirm", "cancel", "pause", "resume"):
        path = f"/api/v1/campaigns/{theirs.id}/{action}"
        assert call(client, "POST", path, manager).status_code == 403
    assert call(client, "PATCH", f"/api/v1/campaigns/{theirs.id}", manager, {}).status_code == 403
    user = staff.add_user(
        session,
        services.clock,
        email="north@example.com",
        name="N",
        role="marketer",
        password="a long enough passphrase",
        actor="test",
        programs=[demo],
    )
    token = staff.create_api_token(session, services.clock, user, "crm")
    session.commit()
    for action in ("confirm", "cancel", "pause", "resume"):
        path = f"/api/v1/campaigns/{theirs.id}/{action}"
        assert call(client, "POST", path, token).status_code == 404
    assert call(client, "PATCH", f"/api/v1/campaigns/{theirs.id}", token, {}).status_code == 404
    session.expire_all()
    assert session.get(Campaign, theirs.id).status == "scheduled"  # type: ignore[union-attr]
