"""Issue 17, finding 1: a script must not farm install bonuses or flood one pass with
made-up devices (one pass took 3 000 device ids, then one purchase made 3 000 pushes)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.services import delivery, terminals
from app.settings import RateLimit
from tests.helpers import PASS_TYPE_ID, Pkpass

ORIGIN = "https://wallet.example.test"
CAP = 10  # WALLETPASS_MAX_DEVICES_PER_PASS by default


@dataclass
class Issued:
    barcode: str
    card_page: str
    serial: str
    token: str


def issue(client: FlaskClient, phone: str = "+7 921 000-17-01") -> Issued:
    body = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Бот", "phone": phone, "consent": True},
    ).json
    assert body is not None
    pkpass = client.get(body["links"]["apple_pass"].removeprefix(ORIGIN))
    data = Pkpass.read(pkpass.data).pass_json
    return Issued(
        body["card"]["barcode"],
        body["links"]["card_page"].removeprefix(ORIGIN),
        str(data["serialNumber"]),
        str(data["authenticationToken"]),
    )


def register(
    client: FlaskClient, card: Issued, device: str, address: str = "203.0.113.7", **kw: Any
) -> Any:
    return client.post(
        f"/passkit/v1/devices/{device}/registrations/{PASS_TYPE_ID}/{card.serial}",
        json={"pushToken": kw.get("push_token", f"{device}aa")},
        headers={"Authorization": f"ApplePass {kw.get('token', card.token)}"},
        environ_base={"REMOTE_ADDR": address},
    )


def unlimited(app: Flask) -> None:
    """The cap on its own: no rate limit gets in its way."""
    limits = app.extensions["walletpass_limits"]
    limits["passkit_register"] = limits["passkit_register_pass"] = RateLimit(10**6, 60)


def test_a_pass_takes_at_most_the_cap_of_devices_and_a_purchase_owes_at_most_that(
    app: Flask, client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    unlimited(app)
    card = issue(client)
    started = time.perf_counter()
    statuses = [register(client, card, f"fake{n:06d}").status_code for n in range(3000)]
    elapsed = time.perf_counter() - started
    assert statuses[:CAP] == [201] * CAP
    assert set(statuses[CAP:]) == {403}
    refused = register(client, card, "fake-one-more")
    assert refused.json["error"]["code"] == "too_many_devices"
    assert str(CAP) in refused.json["error"]["message"]
    # A refused registration stores nothing: neither a registration nor a device row.
    assert session.scalar(select(func.count()).select_from(AppleRegistration)) == CAP
    assert session.scalar(select(func.count()).select_from(AppleDevice)) == CAP
    # A device already registered may still re-register (a new push token).
    assert register(client, card, "fake000003", push_token="renewed").status_code == 200
    # A device that leaves frees its place.
    client.delete(
        f"/passkit/v1/devices/fake000004/registrations/{PASS_TYPE_ID}/{card.serial}",
        headers={"Authorization": f"ApplePass {card.token}"},
    )
    assert register(client, card, "fake-newcomer").status_code == 201
    assert register(client, card, "fake-too-many").status_code == 403

    _, key = terminals.add_terminal(session, services.clock, demo, "Till 1")
    session.commit()
    sold = client.post(
        "/api/pos/v1/purchases",
        json={"receipt_id": "R-1", "amount": 10_000, "barcode": card.barcode},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert sold.status_code == 201
    pass_id = session.scalars(select(WalletPass.id)).one()
    owed = delivery.pending_apple(session, [pass_id])
    assert len(owed.targets) == CAP and len(owed.tokens) == CAP
    print(f"\n3 000 registrations of one pass answered in {elapsed:.1f} s")


def test_registrations_are_limited_per_pass_and_per_address(
    app: Flask, client: FlaskClient, session: Session, demo: Program
) -> None:
    limits = app.extensions["walletpass_limits"]
    limits["passkit_register_pass"] = RateLimit(3, 3600)
    card = issue(client)
    for n in range(3):
        assert register(client, card, f"dev{n}", address=f"198.51.100.{n}").status_code == 201
    limited = register(client, card, "dev9", address="198.51.100.9")
    assert limited.status_code == 429 and limited.json["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    assert session.scalar(select(func.count()).select_from(AppleRegistration)) == 3
    # A wrong token does not spend the pass's budget (nobody can lock a pass out)…
    limits["passkit_register_pass"] = RateLimit(1, 3600)
    other = issue(client, "+7 921 000-17-02")
    for n in range(3):
        assert (
            register(client, other, f"x{n}", address=f"192.0.2.{n}", token="w" * 32).status_code
            == 401
        )
    assert register(client, other, "x9", address="192.0.2.9").status_code == 201
    # …but every attempt counts against the address, wrong tokens included.
    limits["passkit_register"] = RateLimit(2, 3600)
    third = issue(client, "+7 921 000-17-03")
    assert register(client, third, "y1", address="192.0.2.77", token="w" * 32).status_code == 401
    assert register(client, third, "y2", address="192.0.2.77").status_code == 201
    assert register(client, third, "y3", address="192.0.2.77").status_code == 429
