"""Failures stay small: a pass that cannot be rendered holds up nothing else and is
retried with backoff; an APNs alarm pauses APNs only."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.fakes.google_wallet import FakeGoogleWallet
from app.loyalty.models import Card, Program
from app.passes.models import PassRenderFailure, WalletPass
from app.passes.sync import mark_changed
from app.services import delivery, passkit, render_failures
from app.services.programs import seed_demo
from app.worker import handlers
from tests.helpers import PASS_TYPE_ID, fixed_clock
from tests.integration.test_google_flow import (  # noqa: F401 - fixtures
    account,
    enroll,
    google,
    saved_object,
    signer,
)
from tests.integration.test_push_pipeline import (  # noqa: F401 - fixtures
    fake_apns,
    owed,
    registered_pass,
    sender_for,
    server_cert,
)


def google_pass(
    client: FlaskClient, session: Session, services: Services, phone: str, token: str
) -> tuple[int, str]:
    """A card saved to Google Wallet whose pass is also on an iPhone: (pass id, object id)."""
    body = enroll(client, phone)
    obj = saved_object(client, body["links"])
    card = session.scalars(select(Card).where(Card.number == body["card"]["number"])).one()
    wallet_pass = session.scalars(select(WalletPass).where(WalletPass.card_id == card.id)).one()
    ref = passkit.PassRef(wallet_pass.id, card.id, wallet_pass.serial_number, 0)
    passkit.register(session, services.clock, ref, passkit.Registrant(f"dev{phone[-4:]}", token))
    session.commit()
    return wallet_pass.id, obj["id"]


def patches(fake: FakeGoogleWallet, object_id: str) -> int:
    return sum(1 for r in fake.api_requests() if r.method == "PATCH" and r.path.endswith(object_id))


def mark(session: Session, services: Services, *pass_ids: int) -> None:
    mark_changed(session, services.clock, pass_ids)
    session.commit()


def test_a_pass_that_cannot_be_rendered_holds_up_no_other_and_is_retried_with_backoff(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    google: FakeGoogleWallet,  # noqa: F811
    fake_apns: dict[str, Any],  # noqa: F811
    server_cert: Any,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = fake_apns["start"]()
    broken_token, good_token = "b0" * 32, "a0" * 32
    broken, broken_object = google_pass(client, session, services, "+7 922 300-00-01", broken_token)
    # The first program's template disappears: its passes can no longer be rendered.
    # Another program's pass sits in the same delivery batch.
    demo.slug, demo.template = "broken", "no-such-template"
    session.commit()
    other = seed_demo(session, services.clock)
    session.commit()
    good = registered_pass(session, services, other, "+79004450001", [good_token])
    mark(session, services, broken, good)

    with sender_for(services, fake, server_cert) as sender:
        with caplog.at_level(logging.ERROR):
            handlers.deliver(services, sender, [broken, good])
        assert [r.token for r in fake.received] == [good_token]  # the other pass went out
        assert not owed(session, good)
        assert owed(session, broken) and patches(google, broken_object) == 0
        row = session.get(PassRenderFailure, broken)
        assert row is not None and row.failures == 1 and "no-such-template" in row.reason
        serial = session.get(WalletPass, broken).serial_number  # type: ignore[union-attr]
        assert f"pass {broken} cannot be rendered" in caplog.text and serial not in caplog.text
        with services.transaction(write=False) as s:
            failing = render_failures.summary(s)
        assert failing.passes == 1 and "no-such-template" in failing.reasons[0][0]

        # Not every minute forever: 1 min, then 2, then 4 …
        services.queue.huey.flush()
        fixed_clock(services).advance(seconds=61)
        assert handlers.sweep(services) == 1  # its first retry is due
        services.queue.huey.flush()  # the worker takes that task:
        handlers.deliver(services, sender, [broken])
        session.expire_all()
        assert session.get(PassRenderFailure, broken).failures == 2  # type: ignore[union-attr]
        fixed_clock(services).advance(seconds=61)
        assert handlers.sweep(services) == 0  # waits two minutes now
        handlers.deliver(services, sender, [broken])  # an enqueue meanwhile is held too
        assert [r.token for r in fake.received] == [good_token]
        session.expire_all()
        assert session.get(PassRenderFailure, broken).failures == 2  # type: ignore[union-attr]
        fixed_clock(services).advance(seconds=60)
        assert handlers.sweep(services) == 1

        # Fixed: the next try renders it, clears the mark and delivers on both channels.
        demo.template = "demo"
        session.commit()
        handlers.deliver(services, sender, [broken])
        assert sorted(r.token for r in fake.received) == sorted([good_token, broken_token])
        assert patches(google, broken_object) == 1
        assert not owed(session, broken) and session.get(PassRenderFailure, broken) is None
        with services.transaction(write=False) as s:
            assert render_failures.summary(s).passes == 0


def test_the_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    minutes = [render_failures.backoff(n).total_seconds() / 60 for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert render_failures.backoff(10_000).total_seconds() == 3600


def test_the_passkit_fetch_of_a_pass_that_cannot_be_rendered_answers_503_and_marks_it(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "c0" * 32
    pass_id = registered_pass(session, services, demo, "+79004450002", [token])
    wallet_pass = session.get(WalletPass, pass_id)
    assert wallet_pass is not None
    wallet_pass.apns_delivered_version = wallet_pass.version  # the phone was told
    demo.template = "no-such-template"
    session.commit()
    services.queue.huey.flush()  # the worker took the registration's delivery task
    url = f"/passkit/v1/passes/{PASS_TYPE_ID}/{wallet_pass.serial_number}"
    auth = {"Authorization": f"ApplePass {wallet_pass.auth_token}"}
    with caplog.at_level(logging.ERROR):
        response = client.get(url, headers=auth)
    assert response.status_code == 503 and response.headers["Retry-After"] == "60"
    assert response.json["error"]["code"] == "pass_unavailable"  # type: ignore[index]
    assert f"pass {pass_id} cannot be rendered" in caplog.text
    for secret in (wallet_pass.serial_number, wallet_pass.auth_token):
        assert secret not in caplog.text
    session.expire_all()
    assert session.get(PassRenderFailure, pass_id) is not None
    assert owed(session, pass_id)  # the phone is told again once the pass renders

    demo.template = "demo"
    session.commit()
    fixed_clock(services).advance(seconds=61)
    assert handlers.sweep(services) == 1
    assert client.get(url, headers=auth).status_code == 200


def test_an_apns_alarm_pauses_apns_only(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    google: FakeGoogleWallet,  # noqa: F811
    fake_apns: dict[str, Any],  # noqa: F811
    server_cert: Any,  # noqa: F811
) -> None:
    fake = fake_apns["start"]()
    pass_id, object_id = google_pass(client, session, services, "+7 922 300-00-03", "d0" * 32)
    with services.transaction() as s:
        delivery.raise_alarm(s, services.clock, "config_error", "403 BadCertificate")
    mark(session, services, pass_id)
    with sender_for(services, fake, server_cert) as sender:
        handlers.deliver(services, sender, [pass_id])
        assert fake.received == [] and owed(session, pass_id)  # APNs paused
        assert patches(google, object_id) == 1  # Google went on
        mark(session, services, pass_id)
        services.queue.huey.flush()
        fixed_clock(services).advance(seconds=61)
        assert handlers.sweep(services) == 1  # Google's owed change is swept
        handlers.deliver(services, sender, [pass_id])
        assert fake.received == [] and patches(google, object_id) == 2
        with services.transaction() as s:
            assert delivery.clear_alarms(s, services.clock) == 1
        handlers.deliver(services, sender, [pass_id])
        assert [r.token for r in fake.received] == ["d0" * 32]
        assert not owed(session, pass_id)


def test_a_google_alarm_pauses_google_only(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    google: FakeGoogleWallet,  # noqa: F811
    fake_apns: dict[str, Any],  # noqa: F811
    server_cert: Any,  # noqa: F811
) -> None:
    fake = fake_apns["start"]()
    pass_id, object_id = google_pass(client, session, services, "+7 922 300-00-04", "e0" * 32)
    with services.transaction() as s:
        delivery.raise_alarm(s, services.clock, "config_error", "401", channel="google")
    mark(session, services, pass_id)
    with sender_for(services, fake, server_cert) as sender:
        handlers.deliver(services, sender, [pass_id])
    assert [r.token for r in fake.received] == ["e0" * 32] and not owed(session, pass_id)
    assert patches(google, object_id) == 0
    fixed_clock(services).advance(seconds=61)
    assert handlers.sweep(services) == 0  # Google's owed change waits for its alarm
