"""Issue 17, finding 1: a script must not farm install bonuses or flood one pass with
made-up devices (one pass took 3 000 device ids, then one purchase made 3 000 pushes)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Card, LedgerEntry, Program
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.services import delivery, program_rules, terminals
from app.settings import RateLimit
from app.staff.models import AuditEntry
from tests.helpers import PASS_TYPE_ID, START, Pkpass, console_login

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


def purchase(client: FlaskClient, key: str, receipt_id: str, barcode: str) -> Any:
    response = client.post(
        "/api/pos/v1/purchases",
        json={"receipt_id": receipt_id, "amount": 10_000, "barcode": barcode},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code in (200, 201), response.json
    return response.json


def bonus_lots(session: Session) -> int:
    return int(
        session.scalar(select(func.count()).where(LedgerEntry.kind == "bonus")) or 0  # type: ignore[arg-type]
    )


def test_the_install_bonus_can_wait_for_the_first_purchase(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "marketer")
    page = client.get("/console/programs/demo/rules").get_data(as_text=True)
    assert 'value="on_install" checked' in page  # the demo pays at the install
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    values = program_rules.form(demo)
    bad = client.post(
        "/console/programs/demo/rules",
        data={"csrf_token": token, **values, "install_bonus_when": "always"},
    )
    assert bad.status_code == 422 and 'id="install_bonus_when-error"' in bad.get_data(as_text=True)
    done = client.post(
        "/console/programs/demo/rules",
        data={"csrf_token": token, **values, "install_bonus_when": "on_first_purchase"},
    )
    assert done.status_code == 303
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "program.rules_updated")
    ).one()
    assert entry.details == {"install_bonus_when": "on_first_purchase"}
    ru = client.get("/console/programs/demo/rules?lang=ru")
    assert "С первой покупкой" in ru.get_data(as_text=True)

    _, key = terminals.add_terminal(session, services.clock, demo, "Till 1")
    session.commit()
    card = issue(client)
    offered = client.get(card.card_page + "?lang=en").get_data(as_text=True)
    assert "come with your first purchase" in offered
    before = purchase(client, key, "R-0", card.barcode)  # not installed yet: no bonus
    assert before["balance"] == before["points_earned"]

    assert register(client, card, "iphone-of-a-real-person").status_code == 201
    assert bonus_lots(session) == 0  # a made-up device would earn nothing spendable
    installed = session.scalars(select(Card)).one()
    assert installed.apple_installed_at is not None and installed.balance == before["balance"]
    pending = client.get(card.card_page + "?lang=en").get_data(as_text=True)
    assert 'id="install-bonus-pending"' in pending and "2,000" in pending.replace("\u00a0", ",")
    version = session.scalar(select(WalletPass.version))

    first = purchase(client, key, "R-1", card.barcode)
    assert first["balance"] == before["balance"] + first["points_earned"] + 2000
    assert bonus_lots(session) == 1
    assert (session.scalar(select(WalletPass.version)) or 0) > (version or 0)
    assert purchase(client, key, "R-1", card.barcode) == first  # a replay pays nothing more
    second = purchase(client, key, "R-2", card.barcode)
    assert second["balance"] == first["balance"] + second["points_earned"]
    assert bonus_lots(session) == 1
    # A second device or wallet later pays nothing either.
    assert register(client, card, "ipad-of-a-real-person").status_code == 201
    assert bonus_lots(session) == 1
    after = client.get(card.card_page).get_data(as_text=True)
    assert "install-bonus" not in after


def test_new_programs_pay_the_install_bonus_with_the_first_purchase(session: Session) -> None:
    program = Program(
        slug="chain",
        brand_name="Chain",
        name="Chain club",
        template="demo",
        background_color="#000000",
        foreground_color="#FFFFFF",
        label_color="#FFFFFF",
        created_at=START,
    )
    session.add(program)
    session.flush()
    assert program.install_bonus_when == "on_first_purchase"
