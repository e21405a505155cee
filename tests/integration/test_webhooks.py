"""Webhook delivery to a real HTTP receiver on loopback: signed, after the commit only,
retried after an outage, and the endpoint disabled after a day of failures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.clock import FixedClock
from app.loyalty.models import Card, Program
from app.services import enrollment, webhook_events, webhooks
from app.services.programs import seed_demo
from app.webhooks import rules
from app.webhooks.models import WebhookDelivery, WebhookEndpoint
from app.worker import webhooks as webhook_worker
from tests.helpers import fixed_clock
from tests.webhook_helpers import Receiver, doc_verifier, queued_webhooks, run_webhook_tasks


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def add_endpoint(
    session: Session, services: Services, program: Program, url: str, events: object = None
) -> webhooks.Created:
    created = webhooks.create(
        session,
        services.clock,
        program,
        url,
        events or list(rules.EVENTS),
        "test",
        production=False,
    )
    session.commit()
    return created


def enroll(session: Session, services: Services, program: Program, phone: str) -> Card:
    form = enrollment.EnrollmentForm(name="Анна Петрова", phone=phone, consent=True)
    return enrollment.enroll(
        session,
        services.clock,
        program,
        enrollment.validate(form, program, services.clock.now().date()),
    )


def deliveries(session: Session) -> list[WebhookDelivery]:
    session.expire_all()
    return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_a_committed_enrollment_is_delivered_signed_and_the_doc_snippet_verifies_it(
    session: Session, services: Services, demo: Program, receiver: Receiver
) -> None:
    secret = add_endpoint(session, services, demo, receiver.url).secret
    card = enroll(session, services, demo, "+79161112233")
    assert queued_webhooks(services) == []  # nothing leaves before the commit
    session.commit()
    assert len(queued_webhooks(services)) == 1

    answers = run_webhook_tasks(services)

    assert [a.status for a in answers] == [204]
    [got] = receiver.received
    assert got.path == "/hooks/walletpass?team=crm"
    assert got.headers["Walletpass-Event"] == "member.enrolled"
    verify = doc_verifier()
    assert verify(secret, got.headers["Walletpass-Signature"], got.body)
    assert not verify("whsec_wrong", got.headers["Walletpass-Signature"], got.body)
    assert not verify(secret, got.headers["Walletpass-Signature"], got.body + b" ")
    t = int(got.headers["Walletpass-Signature"].split(",")[0].removeprefix("t="))
    assert not verify(secret, got.headers["Walletpass-Signature"], got.body, now=t + 301)
    event = json.loads(got.body)
    assert event["type"] == "member.enrolled" and event["program"] == "demo"
    assert event["id"] == got.headers["Walletpass-Event-Id"]
    assert event["data"] == {
        "card_number": card.number,
        "member_id": card.member_id,
        "source": "site",
        "locale": card.member.locale,
        "tier": demo.default_tier.code,
        "marketing_consent": False,
    }
    text = got.body.decode()
    for secret_value in (card.public_id, card.barcode_secret, "+79161112233", "Анна"):
        assert secret_value not in text
    [row] = deliveries(session)
    assert (row.status, row.response_status, row.attempts) == ("delivered", 204, 1)
    assert run_webhook_tasks(services) == []  # delivered once, not again


def test_nothing_is_delivered_for_a_rolled_back_transaction(
    session: Session, services: Services, demo: Program, receiver: Receiver
) -> None:
    add_endpoint(session, services, demo, receiver.url)
    enroll(session, services, demo, "+79161112234")
    session.rollback()
    session.commit()

    assert queued_webhooks(services) == []
    assert webhook_worker.sweep(services) == 0
    assert run_webhook_tasks(services) == []
    assert deliveries(session) == [] and receiver.received == []


def test_a_receiver_that_is_down_gets_the_event_when_it_comes_back(
    session: Session, services: Services, clock: FixedClock, demo: Program, receiver: Receiver
) -> None:
    add_endpoint(session, services, demo, receiver.url, ["member.enrolled"])
    receiver.stop()
    enroll(session, services, demo, "+79161112235")
    session.commit()

    [answer] = run_webhook_tasks(services)
    assert answer.status is None and answer.error == "connection refused"
    [row] = deliveries(session)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert webhook_worker.sweep(services) == 0  # not due yet
    run_webhook_tasks(services)

    receiver.start()  # back, on the same port
    clock.advance(seconds=31)
    assert webhook_worker.sweep(services) == 1
    [answer] = run_webhook_tasks(services)

    assert answer.status == 204
    assert len(receiver.received) == 1
    [row] = deliveries(session)
    assert (row.status, row.attempts, row.error) == ("delivered", 2, None)
    endpoint = session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.enabled and endpoint.failing_since is None


def test_an_endpoint_failing_for_a_day_is_disabled_and_its_retries_end(
    session: Session, services: Services, clock: FixedClock, demo: Program, receiver: Receiver
) -> None:
    add_endpoint(session, services, demo, receiver.url, ["member.enrolled"])
    receiver.status, receiver.answer = 500, b"<html>" + b"x" * 5000 + b"</html>"
    start = clock.now()
    enroll(session, services, demo, "+79161112236")
    session.commit()
    run_webhook_tasks(services)
    tries = 1
    while True:
        [row] = deliveries(session)
        endpoint = session.scalars(select(WebhookEndpoint)).one()
        if row.status != "pending":
            break
        assert endpoint.enabled, "disabled before a day had passed"
        clock.set(row.next_attempt_at)
        assert webhook_worker.sweep(services) == 1
        run_webhook_tasks(services)
        tries += 1

    assert clock.now() - start == timedelta(hours=24)  # the last try at the 24-hour mark
    assert row.status == "failed" and row.attempts == tries == len(receiver.received)
    assert 20 < tries < 40  # 30 s doubling, at most an hour apart
    assert row.response_status == 500 and row.error == "HTTP 500"
    assert row.response_excerpt is not None and len(row.response_excerpt) == 200
    assert not endpoint.enabled and endpoint.disabled_reason == "failures"

    # Disabled: new events are not written for it, nothing is swept.
    enroll(session, services, demo, "+79161112237")
    session.commit()
    assert len(deliveries(session)) == 1
    clock.advance(hours=1)
    assert webhook_worker.sweep(services) == 0


def test_a_manual_redelivery_sends_the_same_event_once_more(
    session: Session, services: Services, demo: Program, receiver: Receiver
) -> None:
    created = add_endpoint(session, services, demo, receiver.url, ["member.enrolled"])
    enroll(session, services, demo, "+79161112238")
    session.commit()
    run_webhook_tasks(services)
    [row] = deliveries(session)

    assert webhooks.redeliver(session, services.clock, demo, created.endpoint, row.id, "test")
    session.commit()
    run_webhook_tasks(services)

    assert len(receiver.received) == 2
    assert receiver.received[0].body == receiver.received[1].body
    [row] = deliveries(session)
    assert (row.status, row.attempts) == ("delivered", 2)


def test_only_subscribed_enabled_endpoints_of_the_program_get_the_event(
    session: Session, services: Services, demo: Program, receiver: Receiver
) -> None:
    add_endpoint(session, services, demo, receiver.url, ["purchase.recorded"])
    off = add_endpoint(session, services, demo, receiver.url, ["member.enrolled"])
    webhooks.set_enabled(session, services.clock, demo, off.endpoint, False, "test")
    session.commit()
    enroll(session, services, demo, "+79161112239")
    session.commit()
    assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_on_both_databases_a_delivery_is_claimed_by_one_task_only(
    real_services: Services, receiver: Receiver
) -> None:
    services = real_services
    with services.transaction() as session:
        demo = seed_demo(session, services.clock)
        webhooks.create(
            session, services.clock, demo, receiver.url, ["member.enrolled"], "t", production=False
        )
    with services.transaction() as session:
        enroll(session, services, seed_demo(session, services.clock), "+79161112240")
    with services.transaction(write=False) as session:
        ids = list(session.scalars(select(WebhookDelivery.id)))
    assert len(ids) == 1
    with services.transaction() as session:
        first = webhook_events.claim(session, services.clock.now(), ids)
    with services.transaction() as session:
        second = webhook_events.claim(session, services.clock.now(), ids)
    assert [o.delivery_id for o in first] == ids and second == []
    fixed_clock(services).advance(minutes=3)  # the lease ran out
    answers = webhook_worker.deliver(services, webhook_worker.sender_for(services), ids)
    assert [a.status for a in answers] == [204] and len(receiver.received) == 1
    with services.transaction(write=False) as session:
        row = session.get(WebhookDelivery, ids[0])
        assert row is not None and row.status == "delivered"
