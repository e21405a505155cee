"""/healthz, /readyz and /metrics as an operator and Prometheus see them."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services, build_services, migration_state, upgrade_database
from app.campaigns.models import Campaign
from app.loyalty.models import Card, Program
from app.passes.apple.certs import DevChain
from app.passes.models import WalletPass
from app.passes.sync import mark_changed
from app.services import campaigns, enrollment, members
from app.web import create_app
from tests.conftest import make_settings
from tests.helpers import fixed_clock, population
from tests.metrics_helpers import parse, scrape, value

ALL_OK = {"database": "ok", "queue": "ok", "migrations": "ok"}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def own_app(tmp_path: Path, dev_chain: DevChain) -> Iterator[Callable[..., Flask]]:
    """Builds an app on its own settings (SQLite file tmp_path/test.db unless overridden)."""
    holder: list[Services] = []

    def build(**env: str) -> Flask:
        settings = make_settings(
            tmp_path, WALLETPASS_DEV_CERTS_DIR=str(dev_chain.root_cert.parent), **env
        )
        services = build_services(settings)
        holder.append(services)
        return create_app(services=services)

    yield build
    for services in holder:
        services.close()


def card(session: Session, services: Services, program: Program, phone: str) -> Card:
    form = enrollment.EnrollmentForm(name="Metrics", phone=phone, consent=True)
    made = enrollment.enroll(
        session,
        services.clock,
        program,
        enrollment.validate(form, program, services.clock.now().date()),
    )
    session.commit()
    return made


def test_healthz_answers_without_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.data == b"ok\n"


def test_readyz_is_ok_on_a_migrated_database(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == ALL_OK


def test_readyz_fails_when_the_database_is_behind_the_code(
    own_app: Callable[..., Flask], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    upgrade_database(url, "0001")
    response = own_app().test_client().get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["database"] == "ok" and body["queue"] == "ok"
    head = migration_state(url).head
    assert head != "0001"
    assert body["migrations"].startswith(f"database at 0001, code at {head}")
    assert "walletpass db upgrade" in body["migrations"]


def test_readyz_fails_when_the_queue_is_unreachable(
    own_app: Callable[..., Flask], tmp_path: Path
) -> None:
    upgrade_database(f"sqlite:///{tmp_path / 'test.db'}")
    port = closed_port()
    app = own_app(WALLETPASS_QUEUE_URL=f"redis://:queue-secret@127.0.0.1:{port}/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["database"] == "ok" and body["migrations"] == "ok"
    assert "ConnectionError" in body["queue"] and str(port) in body["queue"]
    assert "queue-secret" not in response.get_data(as_text=True)


def test_readyz_names_an_unreachable_database_without_its_password(
    own_app: Callable[..., Flask],
) -> None:
    url = f"postgresql+psycopg://walletpass:db-secret-pw@127.0.0.1:{closed_port()}/walletpass"
    response = own_app(WALLETPASS_DATABASE_URL=url).test_client().get("/readyz")
    assert response.status_code == 503
    body = response.json
    assert body["database"].startswith("OperationalError: ")
    assert body["migrations"].startswith("not checked")
    assert body["queue"] == "ok"
    assert "db-secret-pw" not in response.get_data(as_text=True)


def test_requests_are_counted_by_route_template_never_by_card_id(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    made = card(session, services, demo, "+79005550001")
    before = scrape(client)
    assert client.get(f"/c/{made.public_id}").status_code == 200
    assert client.get("/c/no-such-card").status_code == 404
    response = client.get("/metrics")
    text = response.get_data(as_text=True)
    after = parse(text)
    name = "walletpass_http_requests_total"
    for status in ("200", "404"):
        labels = {"method": "GET", "route": "/c/<public_id>", "status": status}
        assert value(after, name, **labels) == value(before, name, **labels) + 1
    assert made.public_id not in text and "no-such-card" not in text
    count = "walletpass_http_request_duration_seconds_count"
    assert value(after, count, method="GET", route="/c/<public_id>") >= 2
    assert value(after, name, method="GET", route="/readyz", status="200") >= 0
    # Paths that match no route are one series, whatever was asked for.
    client.get("/wp-admin/../etc/passwd")
    again = scrape(client)
    assert value(again, name, method="GET", route="unmatched", status="404") >= 1
    assert "passwd" not in client.get("/metrics").get_data(as_text=True)


def test_committed_ledger_operations_are_counted_by_kind(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    made = card(session, services, demo, "+79005550002")
    name = "walletpass_ledger_operations_total"
    before = scrape(client)
    with services.transaction() as s:
        members.adjust(s, services.clock, s.get(Card, made.id), 40, "goodwill gesture", "test")
    with pytest.raises(RuntimeError), services.transaction() as s:
        members.adjust(s, services.clock, s.get(Card, made.id), 5, "rolled back", "test")
        s.flush()
        raise RuntimeError("the entry point failed after the flush")
    after = scrape(client)
    assert value(after, name, kind="adjust") == value(before, name, kind="adjust") + 1
    points = "walletpass_ledger_points_total"
    assert value(after, points, kind="adjust") == value(before, points, kind="adjust") + 40


def test_scrape_time_gauges_show_owed_passes_queue_and_campaigns(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    cards = population(session, services, demo, 6)
    first = scrape(client)
    owed = value(first, "walletpass_passes_owed", channel="passkit")
    queued = value(first, "walletpass_queue_depth")
    pass_ids = list(
        session.scalars(
            select(WalletPass.id).where(WalletPass.card_id.in_([c.id for c in cards[:3]]))
        )
    )
    mark_changed(session, services.clock, pass_ids)
    session.commit()  # the commit enqueues one delivery task
    fixed_clock(services).advance(seconds=90)
    second = scrape(client)
    assert value(second, "walletpass_passes_owed", channel="passkit") == owed + 3
    assert value(second, "walletpass_passes_owed_oldest_seconds", channel="passkit") >= 90
    assert value(second, "walletpass_queue_depth") == queued + 1
    assert value(second, "walletpass_scrape_source_up", source="database") == 1

    made = campaigns.create(session, services.clock, demo, campaigns_draft(), "test")
    session.commit()
    targets = campaigns.select_targets(session, services.clock, made.id)
    session.commit()
    labels = {"campaign": str(made.id), "program": demo.slug, "status": "sending"}
    third = scrape(client)
    assert value(third, "walletpass_campaign_targets", **labels) == targets == 6
    assert value(third, "walletpass_campaign_applied", **labels) == 0
    chunk = campaigns.next_chunk(session, made.id)
    campaigns.apply_chunk(session, services.clock, made.id, chunk)
    session.commit()
    fourth = scrape(client)
    assert value(fourth, "walletpass_campaign_applied", **labels) == 6
    assert value(fourth, "walletpass_campaign_delivered", **labels) == 0  # nothing pushed yet
    session.get(Campaign, made.id).status = "sent"  # type: ignore[union-attr]
    session.commit()
    assert ("walletpass_campaign_targets", frozenset(labels.items())) not in scrape(client)


def campaigns_draft() -> campaigns.Draft:
    return campaigns.Draft(
        name="Spring", offer_en="-10 %", offer_ru="-10 %", segment={}, holdout_percent=0
    )


def test_metrics_need_the_token_when_one_is_set(services: Services) -> None:
    token = "metrics-token-0123456789"
    saved = services.settings
    services.settings = dataclasses.replace(saved, metrics_token=token)
    try:
        client = create_app(services=services).test_client()
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics").headers["WWW-Authenticate"].startswith("Bearer")
        wrong = {"Authorization": "Bearer " + "x" * len(token)}
        assert client.get("/metrics", headers=wrong).status_code == 401
        scrape(client, headers={"Authorization": f"Bearer {token}"})
        # With a token, the scraper may sit anywhere (behind the proxy too).
        far = {"REMOTE_ADDR": "203.0.113.9"}
        scrape(client, headers={"Authorization": f"Bearer {token}"}, environ_base=far)
    finally:
        services.settings = saved


def test_without_a_token_metrics_answer_direct_loopback_clients_only(
    client: FlaskClient,
) -> None:
    scrape(client)  # the test client is 127.0.0.1
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    # Through a reverse proxy on this machine: the proxy is loopback, its client is not.
    proxied = {"X-Forwarded-For": "198.51.100.7"}
    assert client.get("/metrics", headers=proxied).status_code == 403


@pytest.mark.postgres
def test_readyz_and_scrape_figures_on_postgresql(pg_services: Services) -> None:
    client = create_app(services=pg_services).test_client()
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json == ALL_OK
    samples = scrape(client)
    assert value(samples, "walletpass_scrape_source_up", source="database") == 1
    assert value(samples, "walletpass_passes_owed", channel="google") == 0
