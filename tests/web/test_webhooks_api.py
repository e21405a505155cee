"""The staff API for webhook endpoints: CRUD, the secret shown once, roles and scope."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.services import staff
from app.services.programs import seed_demo
from app.staff.models import AuditEntry
from tests.web.test_crm_api import call, token_for
from tests.webhook_helpers import Receiver, run_webhook_tasks

BASE = "/api/v1/programs/demo/webhooks"


@pytest.fixture
def marketer(session: Session, services: Services, demo: Program) -> str:
    return token_for(session, services, "marketer")


def test_a_marketer_adds_lists_changes_and_deletes_an_endpoint(
    client: FlaskClient, session: Session, marketer: str
) -> None:
    added = call(
        client,
        "POST",
        BASE,
        marketer,
        {"url": "http://127.0.0.1:9/hook", "events": ["purchase.recorded", "member.enrolled"]},
    )
    assert added.status_code == 201
    body = added.json
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["member.enrolled", "purchase.recorded"]  # documented order
    assert body["enabled"] is True
    path = f"{BASE}/{body['id']}"

    listed = call(client, "GET", BASE, marketer).json["webhooks"]
    assert [w["id"] for w in listed] == [body["id"]]
    assert "secret" not in listed[0] and "secret" not in call(client, "GET", path, marketer).json

    changed = call(client, "PATCH", path, marketer, {"enabled": False, "events": "card.removed"})
    assert changed.status_code == 200
    assert changed.json["enabled"] is False and changed.json["disabled_reason"] == "staff"
    assert changed.json["events"] == ["card.removed"]
    assert call(client, "GET", f"{path}/deliveries", marketer).json == {"deliveries": []}

    assert call(client, "DELETE", path, marketer).status_code == 204
    assert call(client, "GET", path, marketer).status_code == 404
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert [a for a in actions if a.startswith("webhook.")] == [
        "webhook.added",
        "webhook.disabled",
        "webhook.changed",
        "webhook.removed",
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x", "events": ["member.enrolled"]}, "url"),
        ({"url": "http://user:pw@example.com/x", "events": ["member.enrolled"]}, "url"),
        ({"url": "https://example.com/x", "events": ["member.deleted"]}, "events[0]"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x", "events": "member.enrolled", "x": 1}, "x"),
        ({"events": ["member.enrolled"]}, "url"),
    ],
)
def test_bad_bodies_get_422_naming_the_field(
    client: FlaskClient, marketer: str, body: dict[str, object], field: str
) -> None:
    response = call(client, "POST", BASE, marketer, body)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_production_refuses_plain_http_and_private_receivers(
    client: FlaskClient, services: Services, marketer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(type(services.settings), "is_production", property(lambda s: True))
    for url, why in (
        ("http://example.com/hook", "must use https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://localhost/hook", "public host"),
    ):
        response = call(client, "POST", BASE, marketer, {"url": url, "events": ["card.removed"]})
        assert response.status_code == 422, url
        assert why in response.json["error"]["fields"]["url"], url


def test_store_managers_may_not_and_other_programs_do_not_exist(
    client: FlaskClient, session: Session, services: Services, demo: Program, marketer: str
) -> None:
    manager = token_for(session, services, "store_manager")
    assert call(client, "GET", BASE, manager).status_code == 403
    demo.slug = "elsewhere"  # seed_demo makes a new program only when "demo" is free
    session.flush()
    north = seed_demo(session, services.clock)
    north.slug = "north"
    session.flush()
    demo.slug = "demo"
    session.commit()
    outsider = staff.add_user(
        session,
        services.clock,
        email="north-marketer@example.com",
        name="North",
        role="marketer",
        password="a long enough passphrase",
        actor="test",
        programs=[north],
    )
    token = staff.create_api_token(session, services.clock, outsider, "crm")
    session.commit()
    created = call(
        client, "POST", BASE, marketer, {"url": "http://127.0.0.1:9/", "events": "campaign.sent"}
    )
    assert created.status_code == 201, created.json
    assert call(client, "GET", BASE, token).status_code == 404
    assert call(client, "GET", f"{BASE}/{created.json['id']}", token).status_code == 404
    assert call(client, "DELETE", f"{BASE}/{created.json['id']}", token).status_code == 404
    # Its own program's list does not show demo's endpoint either.
    assert call(client, "GET", "/api/v1/programs/north/webhooks", token).json == {"webhooks": []}
    assert call(client, "GET", BASE, "wps_nope").status_code == 401


def test_the_delivery_log_and_a_redelivery(
    client: FlaskClient, session: Session, services: Services, marketer: str
) -> None:
    receiver = Receiver(status=503, answer=b"maintenance").start()
    try:
        endpoint = call(
            client, "POST", BASE, marketer, {"url": receiver.url, "events": ["member.enrolled"]}
        ).json
        enrolled = client.post(
            "/api/v1/programs/demo/enrollments",
            json={"name": "Ольга", "phone": "+79165550001", "consent": True},
        )
        assert enrolled.status_code == 201
        run_webhook_tasks(services)
        path = f"{BASE}/{endpoint['id']}/deliveries"
        [entry] = call(client, "GET", path, marketer).json["deliveries"]
        assert entry["event"] == "member.enrolled" and entry["status"] == "pending"
        assert (entry["response_status"], entry["response_excerpt"]) == (503, "maintenance")

        receiver.status = 200
        again = call(client, "POST", f"{path}/{entry['id']}/redeliver", marketer)
        assert again.status_code == 202
        run_webhook_tasks(services)
        [entry] = call(client, "GET", path, marketer).json["deliveries"]
        assert (entry["status"], entry["response_status"], entry["attempts"]) == (
            "delivered",
            200,
            2,
        )
        assert call(client, "POST", f"{path}/999999/redeliver", marketer).status_code == 404
        call(client, "PATCH", f"{BASE}/{endpoint['id']}", marketer, {"enabled": False})
        refused = call(client, "POST", f"{path}/{entry['id']}/redeliver", marketer)
        assert refused.status_code == 409
    finally:
        receiver.stop()
