"""A member's data export and erasure, end to end: API enrollment, a phone's Wallet,
purchases at the till, a staff adjustment, then export and erasure through the staff
API, the voided pass pushed through the real APNs client to a fake APNs, and a scan of
every table, the logs and the members CSV for anything personal left."""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import MetaData, Table, func, inspect, select
from sqlalchemy.orm import Session

from app.analytics.kpis import kpis
from app.bootstrap import Services
from app.loyalty.models import Card, InstallBonusClaim, LedgerEntry, Member, Program
from app.passes.models import AppleDevice, AppleRegistration, WalletPass
from app.services import consents, google_wallet, imports, members, terminals
from app.worker import handlers
from tests.helpers import Pkpass
from tests.integration.test_push_pipeline import (  # noqa: F401  (fixtures)
    fake_apns,
    sender_for,
    server_cert,
)
from tests.web.test_crm_api import call, token_for
from tests.web.test_passkit_device import ORIGIN, WalletDevice

NAME = "Ксения Уникальнова"
PHONE_TYPED = "+7 916 271-82-81"
PHONES = ("+79162718281", "79162718281", "9162718281", "916 271-82-81", "271-82-81")
EMAIL = "ksenia.unikalnova@example.org"
BIRTHDAY = "1991-07-23"
NEEDLES = (NAME, "Уникальнова", *PHONES, EMAIL, BIRTHDAY, "23.07.1991", EMAIL.split("@")[0])
PUSH_TOKEN = "ab12" * 16
LIBRARY = "d3v1ce00000000000000000000000e12"


def scan_database(session: Session) -> list[str]:
    """Every text a table holds, column by column: where a needle is found."""
    session.flush()
    conn = session.connection()
    found = []
    for table in inspect(conn).get_table_names():
        reflected = Table(table, MetaData(), autoload_with=conn)
        for row in conn.execute(select(reflected)).mappings():
            for column, value in row.items():
                if value is None or isinstance(value, bytes | int | float):
                    continue
                if isinstance(value, str) and value[:1] in ("{", "["):
                    with contextlib.suppress(ValueError):  # JSON as stored: \u escapes
                        value = json.loads(value)
                shown = json.dumps(value, ensure_ascii=False, default=str)
                found += [f"{table}.{column}: {n}" for n in NEEDLES if n in shown]
    return found


def leaks(blob: str) -> list[str]:
    return [n for n in NEEDLES if n in blob]


class Till:
    def __init__(self, client: FlaskClient, key: str) -> None:
        self.client, self.headers = client, {"Authorization": f"Bearer {key}"}

    def buy(self, receipt: str, amount: int, barcode: str) -> Any:
        return self.client.post(
            "/api/pos/v1/purchases",
            json={"receipt_id": receipt, "amount": amount, "barcode": barcode},
            headers=self.headers,
        )


def window_kpis(session: Session, program: Program, services: Services) -> dict[str, Any]:
    now = services.clock.now()
    return dict(vars(kpis(session, program, now - timedelta(days=30), now + timedelta(days=1))))


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_erasure_leaves_nothing_personal_keeps_the_figures_and_voids_the_pass(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    fake_apns: dict[str, Any],  # noqa: F811
    server_cert: Any,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = fake_apns["start"]()
    admin = token_for(session, services, "admin")
    _, key = terminals.add_terminal(session, services.clock, demo, "Till 1")
    session.commit()
    till = Till(client, key)

    enrolled = client.post(
        "/api/v1/programs/demo/enrollments",
        json={
            "name": NAME,
            "phone": PHONE_TYPED,
            "email": EMAIL,
            "birthday": BIRTHDAY,
            "consent": True,
            "marketing_consent": True,
        },
    )
    assert enrolled.status_code == 201
    number, barcode = enrolled.json["card"]["number"], enrolled.json["card"]["barcode"]
    iphone = WalletDevice(client, LIBRARY, push_token=PUSH_TOKEN)
    serial = str(iphone.add_pass(enrolled.json["links"]["apple_pass"])["serialNumber"])
    assert iphone.register(serial) == 201  # the install bonus: 2 000 points
    assert till.buy("R-1", 150_000, barcode).status_code == 201
    card = session.scalars(select(Card).where(Card.number == number)).one()
    # A cashier's reason that names the shopper ends up in the ledger and the audit log.
    members.adjust(session, services.clock, card, 50, f"goodwill for {NAME}", "test")
    session.commit()
    assert scan_database(session), "the scan must find the data before the erasure"

    # The export: everything, and no credential.
    exported = call(client, "GET", f"/api/v1/programs/demo/cards/{number}/member-data", admin)
    assert exported.status_code == 200
    data = exported.json
    assert data["member"]["name"] == NAME and data["member"]["phone"] == PHONES[0]
    assert data["member"]["email"] == EMAIL and data["member"]["birthday"] == BIRTHDAY
    assert data["consents"]["program"]["text_version"] == consents.PROGRAM.version
    assert data["consents"]["program"]["source"] == "api"
    assert data["consents"]["marketing"]["given"] is True
    assert data["consents"]["marketing"]["text"] == consents.MARKETING.texts
    assert {e["kind"] for e in data["ledger"]} == {"bonus", "earn", "adjust"}
    assert [r["receipt_id"] for r in data["receipts"]] == ["R-1"]
    assert data["devices"] == [
        {"wallet_app": "apple_wallet", "registered_at": data["devices"][0]["registered_at"]}
    ]
    raw = exported.get_data(as_text=True)
    wallet_pass = session.scalars(select(WalletPass).where(WalletPass.card_id == card.id)).one()
    for secret in (
        PUSH_TOKEN,
        LIBRARY,
        wallet_pass.auth_token,
        card.barcode_secret,
        card.public_id,
    ):
        assert secret not in raw

    balance = card.balance
    before = window_kpis(session, demo, services)
    ledger_sum = session.scalar(
        select(func.sum(LedgerEntry.points)).where(LedgerEntry.card_id == card.id)
    )
    pushed_before = len(fake.received)

    # Erasure: only an admin, only with the card number typed again.
    path = f"/api/v1/programs/demo/cards/{number}/erase"
    marketer = token_for(session, services, "marketer")
    assert call(client, "POST", path, marketer, {"confirm": number}).status_code == 403
    assert call(client, "POST", path, admin, {"confirm": "0000"}).status_code == 422
    erased = call(client, "POST", path, admin, {"confirm": number})
    assert erased.status_code == 200 and erased.json["card_number"] == number
    assert call(client, "POST", path, admin, {"confirm": number}).status_code == 409

    # The voided pass is pushed; the phone asks what changed and downloads it voided.
    with sender_for(services, fake, server_cert) as sender:
        report = handlers.deliver(services, sender, [wallet_pass.id])
    assert report.outcomes.get("accepted") == 1
    assert [r.token for r in fake.received[pushed_before:]] == [PUSH_TOKEN]
    status, serials = iphone.what_changed()
    assert status == 200 and serial in serials
    status, _, body = iphone.fetch(serial)
    assert status == 200 and Pkpass.read(body).pass_json["voided"] is True
    session.expire_all()
    card = session.get(Card, card.id)
    assert card is not None
    google = google_wallet.bodies(session, card, services.templates, "3388000000022", ORIGIN)
    assert google.object_body["state"] == "EXPIRED"

    # Nothing personal left: database, logs, the members CSV, the search.
    assert scan_database(session) == []
    assert caplog.records and leaks(caplog.text) == []
    assert leaks("".join(imports.export_members(session, demo))) == []
    assert members.search(session, demo, PHONES[2]) == []
    assert members.search(session, demo, NAME) == []
    assert client.get(enrolled.json["links"]["card_page"].removeprefix(ORIGIN)).status_code == 404

    # The figures did not move; the old barcode no longer works at the till.
    assert card.balance == balance
    assert window_kpis(session, demo, services) == before
    assert (
        session.scalar(select(func.sum(LedgerEntry.points)).where(LedgerEntry.card_id == card.id))
        == ledger_sum
    )
    assert till.buy("R-2", 10_000, barcode).status_code >= 400

    # The device registrations go after the grace period, once the voided pass was pushed.
    handlers.run_daily(services)
    assert session.scalar(select(func.count()).select_from(AppleRegistration)) == 1
    services.clock.advance(days=4)
    handlers.run_daily(services)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AppleRegistration)) == 0
    assert session.scalar(select(func.count()).select_from(AppleDevice)) == 0

    # The same number enrolls again: a new card, but no second install bonus, ever.
    again = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Ksenia", "phone": PHONE_TYPED, "consent": True},
    )
    assert again.status_code == 201
    other = WalletDevice(client, "d3v1ce00000000000000000000000e13", push_token="cd34" * 16)
    serial2 = str(other.add_pass(again.json["links"]["apple_pass"])["serialNumber"])
    assert other.register(serial2) == 201
    new_card = session.scalars(
        select(Card).where(Card.number == again.json["card"]["number"])
    ).one()
    assert new_card.balance == 0
    assert session.scalar(select(func.count()).select_from(InstallBonusClaim)) == 1


def test_the_console_exports_and_erases_with_a_typed_confirmation(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    import re

    from app.staff.models import AuditEntry
    from tests.helpers import console_login

    enrolled = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": NAME, "phone": PHONE_TYPED, "email": EMAIL, "consent": True},
    ).json
    number = enrolled["card"]["number"]
    console_login(client, session, services, role="admin")
    page = client.get(f"/console/cards/{number}?program=demo").get_data(as_text=True)
    assert 'id="erase-form"' in page and 'id="export-link"' in page
    download = client.get(f"/console/cards/{number}/export.json?program=demo")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert json.loads(download.data)["member"]["email"] == EMAIL
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": token, "program": "demo"}
    wrong = client.post(f"/console/cards/{number}/erase", data={**form, "confirm": "12"})
    assert wrong.status_code == 422 and 'id="confirm-error"' in wrong.get_data(as_text=True)
    done = client.post(f"/console/cards/{number}/erase", data={**form, "confirm": number})
    assert done.status_code == 303
    member = session.scalars(select(Member).join(Card).where(Card.number == number)).one()
    assert member.erased_at is not None and member.name == "" and member.email is None
    assert member.marketing_consent_source == "withdrawn"
    actions = [a for (a,) in session.execute(select(AuditEntry.action))]
    assert "member.exported" in actions and "member.erased" in actions


def test_store_managers_may_export_but_not_erase(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    number = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Pavel", "phone": "+79162718282", "consent": True},
    ).json["card"]["number"]
    manager = token_for(session, services, "store_manager")
    base = f"/api/v1/programs/demo/cards/{number}"
    assert call(client, "GET", f"{base}/member-data", manager).status_code == 200
    assert call(client, "POST", f"{base}/erase", manager, {"confirm": number}).status_code == 403
    assert (
        call(client, "GET", "/api/v1/programs/demo/cards/0000/member-data", manager).status_code
        == 404
    )


def test_birthday_of_a_member_is_in_the_export_as_iso_date(
    session: Session, services: Services, demo: Program
) -> None:
    from app.services import enrollment, member_export

    form = enrollment.EnrollmentForm(
        name="Lev", phone="+79162718283", birthday="1990-02-03", consent=True
    )
    card = enrollment.enroll(
        session,
        services.clock,
        demo,
        enrollment.validate(form, demo, services.clock.now().date()),
        source="till",
    )
    data = member_export.member_data(session, services.clock, card)
    assert data["member"]["birthday"] == date(1990, 2, 3).isoformat()
    assert data["consents"]["program"]["source"] == "till"
    assert data["consents"]["marketing"] == {
        "given": False,
        "changed_at": None,
        "source": None,
        "text_version": None,
        "text": None,
    }
