"""Logs leak nothing: a card's whole life, every log record of every logger at DEBUG
scanned for the capabilities and personal data it used.

Enrollment -> pass download -> Wallet device registration -> POS purchase -> a
campaign launched through the CRM API -> the worker's fan-out and APNs pushes (real
client, fake APNs over TLS) -> the device fetches its updated pass.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import logs
from app.bootstrap import Services
from app.fakes.apns import running_fake_apns
from app.fakes.tls import make_server_cert
from app.loyalty import rules
from app.loyalty.models import Card, Program
from app.passes.apple.certs import DevChain
from app.passes.models import WalletPass
from app.push.apns.client import ApnsConfig, ApnsSender
from app.services import staff, terminals
from app.services.jobs import all_programs
from app.worker import handlers
from app.worker.runtime import client_pem_files
from tests.helpers import CONSOLE_PASSWORD, PASS_TYPE_ID, Pkpass, console_login

NAME = "Zinaida Kuznetsova"
PHONE = "+7 916 321-54-76"
EMAIL = "zinaida.k@example.org"


class Everything(logging.Handler):
    """Keeps every record, rendered as a text line and as a JSON line."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(logs.RequestIdFilter())
        self.text = logging.Formatter(logs.TEXT_FORMAT + " %(request_id)s")
        self.json = logs.JsonFormatter()
        self.lines: list[str] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.text.format(record))
        self.lines.append(self.json.format(record))


@pytest.fixture
def captured() -> Iterator[Everything]:
    """Root at DEBUG, as `walletpass -v` sets it up (app.logs.configure)."""
    handler = Everything()
    root = logging.getLogger()
    saved = root.level
    saved_wire = {name: logging.getLogger(name).level for name in logs.WIRE_LOGGERS}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logs.quiet_wire_loggers()
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(saved)
        for name, level in saved_wire.items():
            logging.getLogger(name).setLevel(level)


def digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_a_card_s_whole_life_leaves_no_capability_or_personal_data_in_the_logs(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    dev_chain: DevChain,
    tmp_path: Any,
    captured: Everything,
) -> None:
    # Enrollment and the pass download.
    enrolled = client.post(
        "/api/v1/programs/demo/enrollments",
        json={
            "name": NAME,
            "phone": PHONE,
            "email": EMAIL,
            "consent": True,
            "marketing_consent": True,
        },
        headers={"X-Request-Id": "forged-by-a-client"},  # no trusted proxy: not taken
    )
    assert enrolled.status_code == 201
    body = enrolled.json
    assert body is not None
    card_url = body["links"]["card_page"].removeprefix("https://wallet.example.test")
    public_id = card_url.rsplit("/", 1)[1]
    assert client.get(card_url).status_code == 200
    pkpass = client.get(f"{card_url}/apple.pkpass")
    assert pkpass.status_code == 200
    pass_json = Pkpass.read(pkpass.data).pass_json
    serial, auth_token = pass_json["serialNumber"], pass_json["authenticationToken"]

    # A Wallet device registers, lists its passes, fetches the pass, sends its log.
    library_id = secrets.token_hex(16)
    push_token = secrets.token_hex(32)
    apple_auth = {"Authorization": f"ApplePass {auth_token}"}
    base = "/passkit/v1/devices"
    registered = client.post(
        f"{base}/{library_id}/registrations/{PASS_TYPE_ID}/{serial}",
        json={"pushToken": push_token},
        headers=apple_auth,
    )
    assert registered.status_code == 201
    assert client.get(f"{base}/{library_id}/registrations/{PASS_TYPE_ID}").status_code == 200
    fetched = client.get(f"/passkit/v1/passes/{PASS_TYPE_ID}/{serial}", headers=apple_auth)
    assert fetched.status_code == 200
    refused = client.get(f"/passkit/v1/passes/{PASS_TYPE_ID}/{serial}", headers={})
    assert refused.status_code == 401
    assert client.post("/passkit/v1/log", json={"logs": ["Wallet could not reach"]}).status_code
    assert client.get(f"/c/{public_id}x").status_code == 404  # a mistyped card link
    assert client.get(f"/cards/{public_id}").status_code == 404  # no such route

    # The till: a lookup by the scanned code and a purchase.
    _, terminal_key = terminals.add_terminal(session, services.clock, demo, "Till 1")
    session.commit()
    card = session.scalars(select(Card).where(Card.public_id == public_id)).one()
    number = card.number
    barcode = rules.barcode_value(card.number, card.barcode_secret)
    till = {"Authorization": f"Bearer {terminal_key}"}
    assert client.get(f"/api/pos/v1/cards/{barcode}", headers=till).status_code == 200
    purchase = client.post(
        "/api/pos/v1/purchases",
        json={"receipt_id": "R-1", "amount": 150000, "barcode": barcode},
        headers=till,
    )
    assert purchase.status_code == 201

    # A marketer signs in; the CRM launches a campaign with its API token.
    staff_email = console_login(client, session, services, role="marketer")
    assert client.get("/console/").status_code == 200
    user = staff.add_user(
        session,
        services.clock,
        email="crm.robot@example.net",
        name="Boris Robotov",
        role="marketer",
        password=CONSOLE_PASSWORD,
        actor="test",
        programs=all_programs(session),
    )
    api_token = staff.create_api_token(session, services.clock, user, "crm")
    session.commit()
    launched = client.post(
        "/api/v1/programs/demo/campaigns",
        json={
            "name": "Spring",
            "offer_en": "-10 % on tea",
            "offer_ru": "-10 % на чай",
            "segment": {},
            "holdout_percent": 0,
            "bonus_points": 50,
        },
        headers={"Authorization": f"Bearer {api_token}"},
    )
    assert launched.status_code == 201, launched.json

    # The worker: the campaign's fan-out, then the pushes through the real APNs client.
    assert handlers.run_campaign(services, launched.json["id"]) == 1  # type: ignore[index]
    wallet_pass = session.scalars(select(WalletPass).where(WalletPass.card_id == card.id)).one()
    server = make_server_cert(tmp_path / "fake-apns")
    cert, key = client_pem_files(services)
    with running_fake_apns(
        server_cert=server.cert,
        server_key=server.key,
        client_ca=dev_chain.root_cert,
        topic=PASS_TYPE_ID,
    ) as fake:
        config = ApnsConfig(
            topic=PASS_TYPE_ID,
            base_url=f"https://127.0.0.1:{fake.port}",
            client_cert=cert,
            client_key=key,
            ca_file=server.ca_cert,
            connections=1,
        )
        with ApnsSender(config) as sender:
            report = handlers.deliver(services, sender, [wallet_pass.id])
        assert [r.token for r in fake.received] == [push_token]
    assert report.delivered_passes == 1
    updated = client.get(f"/passkit/v1/passes/{PASS_TYPE_ID}/{serial}", headers=apple_auth)
    assert updated.status_code == 200

    secrets_used = {
        "card id": public_id,
        "card number": number,
        "barcode": barcode,
        "barcode secret": card.barcode_secret,
        "serial number": serial,
        "authentication token": auth_token,
        "device library id": library_id,
        "push token": push_token,
        "terminal key": terminal_key,
        "API token": api_token,
        "staff password": CONSOLE_PASSWORD,
        "staff e-mail": staff_email,
        "robot e-mail": "crm.robot@example.net",
        "name": NAME,
        "surname": "Kuznetsova",
        "staff name": "Boris Robotov",
        "e-mail": EMAIL,
        "phone": PHONE,
    }
    lines = captured.lines
    assert len(lines) > 40, "the flow should have logged (access lines at least)"
    for line in lines:
        for what, value in secrets_used.items():
            assert value not in line, f"{what} in a log line: {line}"
        assert "9163215476" not in digits(line), f"the phone number in a log line: {line}"

    # The access log names route templates, with method, status, time and request id.
    access = [json.loads(captured.json.format(r)) for r in captured.records]
    access = [a for a in access if a["logger"] == "walletpass.access"]
    routes = {(a["method"], a["route"], a["status"]) for a in access}
    assert ("GET", "/c/<public_id>/apple.pkpass", 200) in routes
    assert ("POST", "/api/pos/v1/purchases", 201) in routes
    assert ("GET", "/api/pos/v1/cards/<path:code>", 200) in routes
    assert ("GET", "/passkit/v1/passes/<pass_type_id>/<serial>", 401) in routes
    assert ("GET", "/c/<public_id>", 404) in routes
    assert ("GET", "<unmatched>", 404) in routes
    assert ("POST", "/api/v1/programs/<slug>/enrollments", 201) in routes
    assert all(isinstance(a["duration_ms"], float) and a["request_id"] for a in access)
    assert enrolled.headers["X-Request-Id"] != "forged-by-a-client"
    assert enrolled.headers["X-Request-Id"] in {a["request_id"] for a in access}
