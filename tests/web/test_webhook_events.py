"""Every webhook event is emitted exactly once by the use case it reports, through the
real entry points (enrollment API, PassKit web service, POS API, daily job, campaign)."""

from __future__ import annotations

import json
from collections import Counter

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.clock import FixedClock
from app.loyalty.models import Card, Program
from app.loyalty.rules import barcode_value
from app.services import campaigns, terminals, webhooks
from app.webhooks import rules
from app.webhooks.models import WebhookDelivery
from app.worker.handlers import run_campaign, run_daily
from tests.web.test_passkit_device import WalletDevice, enroll
from tests.web.test_pos_api import Till


def events(session: Session) -> list[dict[str, object]]:
    session.expire_all()
    bodies = session.scalars(select(WebhookDelivery.body).order_by(WebhookDelivery.id))
    return [json.loads(b) for b in bodies]


def test_each_use_case_emits_its_event_once(
    client: FlaskClient, session: Session, services: Services, clock: FixedClock, demo: Program
) -> None:
    webhooks.create(
        session,
        services.clock,
        demo,
        "http://127.0.0.1:9/hook",
        list(rules.EVENTS),
        "test",
        production=False,
    )
    _, key = terminals.add_terminal(session, services.clock, demo, "Till 1")
    session.commit()
    till = Till(client, key)

    links = enroll(client, "+7 921 000-00-07")
    card = session.scalars(select(Card)).one()
    phone = WalletDevice(client, "d3v1ce00000000000000000000000w01")
    serial = str(phone.add_pass(links["apple_pass"])["serialNumber"])
    assert phone.register(serial) == 201
    assert phone.register(serial) == 200  # the same device again: no second install
    code = barcode_value(card.number, card.barcode_secret)
    purchase = {"receipt_id": "R-1", "amount": 150_000, "barcode": code}
    assert till.post("/purchases", purchase).status_code == 201
    assert till.post("/purchases", purchase).status_code == 200  # a replay is not a new sale
    refund = {"receipt_id": "R-1", "refund_id": "F-1", "amount": 50_000}
    assert till.post("/refunds", refund).status_code == 201
    assert till.post("/refunds", refund).status_code == 200
    assert phone.unregister(serial) == 200

    clock.advance(days=400)  # past the points' 365 days
    run_daily(services)
    run_daily(services)  # nothing left to expire
    draft = campaigns.Draft(name="All", offer_en="Hi", offer_ru="Привет", segment={})
    campaign = campaigns.create(session, services.clock, demo, draft, "test")
    session.commit()
    run_campaign(services, campaign.id)
    run_campaign(services, campaign.id)  # a second run finds it finished

    got = events(session)
    assert Counter(e["type"] for e in got) == {t: 1 for t in rules.EVENTS}
    by_type = {str(e["type"]): e["data"] for e in got}
    who = {"card_number": card.number, "member_id": card.member_id}
    assert by_type["card.installed"] == {
        **who,
        "wallet_app": "apple_wallet",
        "reason": "registered",
    }
    assert by_type["card.removed"] == {
        **who,
        "wallet_app": "apple_wallet",
        "reason": "unregistered",
    }
    purchase_data = by_type["purchase.recorded"]
    assert isinstance(purchase_data, dict)
    assert purchase_data["receipt_id"] == "R-1" and purchase_data["amount"] == 150_000
    assert purchase_data["card_number"] == card.number
    refund_data = by_type["refund.recorded"]
    assert isinstance(refund_data, dict)
    assert (refund_data["refund_id"], refund_data["amount"]) == ("F-1", 50_000)
    expired = by_type["points.expired"]
    assert isinstance(expired, dict) and expired["balance"] == 0 and expired["points"] > 0
    sent = by_type["campaign.sent"]
    assert isinstance(sent, dict) and sent["campaign_id"] == campaign.id
    everything = json.dumps(got, ensure_ascii=False)
    for secret in (card.public_id, card.barcode_secret, code, "+79210000007", "Ольга"):
        assert secret not in everything
