"""Webhooks in the console (ru/en): add with the secret shown once, disable, delete, the
delivery log with the answer's code, "send again", and an endpoint disabled by failures."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.clock import FixedClock
from app.loyalty.models import Program
from app.staff.models import AuditEntry
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.worker import webhooks as webhook_worker
from tests.helpers import console_login, console_sign_in
from tests.webhook_helpers import Receiver, run_webhook_tasks

PAGE = "/console/programs/demo/webhooks"


def csrf(client: FlaskClient, path: str = PAGE) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def add(client: FlaskClient, url: str, events: list[str]) -> tuple[int, str]:
    response = client.post(PAGE, data={"csrf_token": csrf(client), "url": url, "events": events})
    return response.status_code, response.get_data(as_text=True)


def enroll(client: FlaskClient, phone: str) -> None:
    response = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Ольга", "phone": phone, "consent": True},
    )
    assert response.status_code == 201


def test_a_marketer_adds_an_endpoint_and_sees_its_secret_once(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "marketer")
    home = client.get("/console/").get_data(as_text=True)
    assert 'data-webhooks="demo"' in home
    page = client.get(PAGE).get_data(as_text=True)
    assert "Вебхуки" in page and "Адресов пока нет." in page

    status, html = add(client, "ftp://example.com", [])
    assert status == 422
    assert 'id="url-error"' in html and 'id="events-error"' in html

    status, html = add(client, "http://127.0.0.1:9/hook", ["member.enrolled", "card.installed"])
    assert status == 201
    endpoint = session.scalars(select(WebhookEndpoint)).one()
    assert f"<code>{endpoint.secret}</code>" in html and "Секрет подписи" in html
    listed = client.get(PAGE).get_data(as_text=True)
    assert endpoint.secret not in listed  # only once
    assert "member.enrolled, card.installed" in listed and "включён" in listed

    english = client.get(PAGE + "?lang=en").get_data(as_text=True)
    assert "Webhooks" in english and "enabled" in english and "Add an endpoint" in english

    base = f"{PAGE}/{endpoint.public_id}"
    assert client.post(f"{base}/disable", data={"csrf_token": csrf(client)}).status_code == 303
    assert "disabled by staff" in client.get(PAGE).get_data(as_text=True)
    assert client.post(f"{base}/enable", data={"csrf_token": csrf(client)}).status_code == 303
    assert client.post(f"{base}/delete", data={"csrf_token": "stale"}).status_code == 303
    assert session.scalars(select(WebhookEndpoint)).one()  # a stale form changes nothing
    assert client.post(f"{base}/delete", data={"csrf_token": csrf(client)}).status_code == 303
    assert session.scalars(select(WebhookEndpoint)).all() == []
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert [a for a in actions if a.startswith("webhook.")] == [
        "webhook.added",
        "webhook.disabled",
        "webhook.enabled",
        "webhook.removed",
    ]


def test_store_managers_and_other_programs_get_no_webhook_pages(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "store_manager")
    assert client.get(PAGE).status_code == 403
    assert client.get("/console/programs/nowhere/webhooks").status_code in (403, 404)


def test_the_delivery_log_shows_codes_sends_again_and_says_when_failures_disabled_it(
    client: FlaskClient, session: Session, services: Services, clock: FixedClock, demo: Program
) -> None:
    receiver = Receiver(status=500, answer=b"database is down").start()
    try:
        console_login(client, session, services, "admin")
        assert add(client, receiver.url, ["member.enrolled"])[0] == 201
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        log = f"{PAGE}/{endpoint.public_id}"
        assert "Доставок пока не было." in client.get(log).get_data(as_text=True)
        enroll(client, "+79165550002")
        run_webhook_tasks(services)

        html = client.get(log + "?lang=en").get_data(as_text=True)
        assert "<strong>500</strong>" in html and "database is down" in html
        assert "waiting for a retry" in html and "failing since" in html

        receiver.status = 202
        row = session.scalars(select(WebhookDelivery)).one()
        again = client.post(
            f"{log}/deliveries/{row.id}/redeliver", data={"csrf_token": csrf(client, log)}
        )
        assert again.status_code == 303
        run_webhook_tasks(services)
        html = client.get(log + "?lang=ru").get_data(as_text=True)
        assert "<strong>202</strong>" in html and "доставлено" in html

        # A day of failures: the endpoint is turned off and the console says so.
        receiver.stop()
        enroll(client, "+79165550003")
        run_webhook_tasks(services)
        for _ in range(60):
            session.expire_all()
            if not session.get(WebhookEndpoint, endpoint.id).enabled:  # type: ignore[union-attr]
                break
            clock.advance(hours=1)
            webhook_worker.sweep(services)
            run_webhook_tasks(services)
        console_sign_in(client, "admin.user@example.com")  # a day later
        page = client.get(PAGE).get_data(as_text=True)
        assert "выключен после суток неудачных доставок" in page
        english = client.get(PAGE + "?lang=en").get_data(as_text=True)
        assert "disabled after a day of failures" in english
        refused = client.post(
            f"{log}/deliveries/{row.id}/redeliver", data={"csrf_token": csrf(client, log)}
        )
        assert refused.status_code == 303
        assert "enable it first" in client.get(log).get_data(as_text=True)
        assert clock.now() - timedelta(hours=24) >= row.created_at
    finally:
        receiver.stop()
