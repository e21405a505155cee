"""Members list, card detail and manual adjustments in the console."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Card, LedgerEntry, Program
from app.passes.models import WalletPass
from app.services import enrollment
from app.staff.models import AuditEntry
from tests.helpers import console_login


@pytest.fixture
def card(session: Session, services: Services, demo: Program) -> Card:
    form = enrollment.EnrollmentForm(name="Надежда Смирнова", phone="+79161230000", consent=True)
    found = enrollment.enroll(
        session, services.clock, demo, enrollment.validate(form, demo, services.clock.now().date())
    )
    session.commit()
    return found


def csrf(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def test_search_by_name_phone_or_number(
    client: FlaskClient, session: Session, services: Services, card: Card
) -> None:
    console_login(client, session, services, "marketer")

    def search(query: str, token: str | None = None) -> str:
        token = token or csrf(client, "/console/members?program=demo")
        data = {"csrf_token": token, "program": "demo", "q": query}
        return client.post("/console/members", data=data).get_data(as_text=True)

    for query in ("Надежда", "1230000", card.number[-6:]):
        assert "Надежда Смирнова" in search(query), query
    assert "Надежда" not in search("Zzz")
    # A search is a POST, so the phone number never lands in a URL or an access log;
    # without a valid token it searches nothing and lists the newest members.
    forged = search("Надежда", token="forged")
    assert 'value="Надежда"' not in forged


def test_a_store_manager_adjusts_points_with_a_reason(
    client: FlaskClient, session: Session, services: Services, card: Card
) -> None:
    console_login(client, session, services, "store_manager")
    path = f"/console/cards/{card.number}?program=demo"
    version = session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id))
    missing = client.post(
        f"/console/cards/{card.number}/adjust",
        data={"csrf_token": csrf(client, path), "program": "demo", "points": "500", "reason": ""},
    )
    assert missing.status_code == 422 and 'id="reason-error"' in missing.get_data(as_text=True)
    too_many = client.post(
        f"/console/cards/{card.number}/adjust",
        data={
            "csrf_token": csrf(client, path),
            "program": "demo",
            "points": "-10",
            "reason": "wrong sale",
        },
    )
    assert too_many.status_code == 422
    done = client.post(
        f"/console/cards/{card.number}/adjust",
        data={
            "csrf_token": csrf(client, path),
            "program": "demo",
            "points": "500",
            "reason": "compensation for a late delivery",
        },
    )
    assert done.status_code == 303
    session.expire_all()
    assert session.get(Card, card.id).balance == 500  # type: ignore[union-attr]
    entry = session.scalars(select(LedgerEntry).where(LedgerEntry.card_id == card.id)).one()
    assert (entry.kind, entry.note) == ("adjust", "compensation for a late delivery")
    assert (
        session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id))
        == (version or 0) + 1
    )
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "card.adjusted")).one()
    assert audit.actor == "store_manager.user@example.com" and audit.details == {
        "points": 500,
        "reason": "compensation for a late delivery",
    }
    detail = client.get(path).get_data(as_text=True)
    assert "compensation for a late delivery" in detail and 'id="notice"' not in detail


def test_marketers_see_cards_but_cannot_adjust(
    client: FlaskClient, session: Session, services: Services, card: Card
) -> None:
    console_login(client, session, services, "marketer")
    path = f"/console/cards/{card.number}?program=demo"
    page = client.get(path).get_data(as_text=True)
    assert "Надежда Смирнова" in page and 'id="adjust-form"' not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    denied = client.post(
        f"/console/cards/{card.number}/adjust",
        data={"csrf_token": token, "program": "demo", "points": "5", "reason": "because"},
    )
    assert denied.status_code == 403
