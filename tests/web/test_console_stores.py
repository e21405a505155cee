"""Stores in the console: the lock-screen locations of a program's card."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program, Store
from app.passes.models import WalletPass
from app.services import enrollment
from app.staff.models import AuditEntry
from tests.helpers import console_login


def csrf(client: FlaskClient) -> str:
    page = client.get("/console/programs/demo/stores").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_adding_and_removing_stores_updates_every_card(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    form = enrollment.EnrollmentForm(name="S", phone="+79161239999", consent=True)
    card = enrollment.enroll(
        session, services.clock, demo, enrollment.validate(form, demo, services.clock.now().date())
    )
    session.commit()
    console_login(client, session, services, "marketer")
    bad = client.post(
        "/console/programs/demo/stores",
        data={
            "csrf_token": csrf(client),
            "code": "Bad Code",
            "name": "",
            "latitude": "95",
            "longitude": "x",
        },
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for field in ("code", "name", "latitude", "longitude"):
        assert f'id="{field}-error"' in html
    version = session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id)) or 0
    good = client.post(
        "/console/programs/demo/stores",
        data={
            "csrf_token": csrf(client),
            "code": "spb-nevsky",
            "name": "Little Steps Nevsky",
            "latitude": "59,9343",
            "longitude": "30.3351",
            "relevant_text_ru": "Мы рядом",
        },
    )
    assert good.status_code == 303
    store = session.scalars(select(Store).where(Store.code == "spb-nevsky")).one()
    assert store.latitude == 59.9343 and store.relevant_text_ru == "Мы рядом"
    assert (
        session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id))
        == version + 1
    )
    removed = client.post(
        "/console/programs/demo/stores/spb-nevsky/remove", data={"csrf_token": csrf(client)}
    )
    assert removed.status_code == 303
    assert session.scalar(select(Store.id).where(Store.code == "spb-nevsky")) is None
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "store.added" in actions and "store.removed" in actions


def test_store_managers_cannot_edit_stores(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "store_manager")
    assert client.get("/console/programs/demo/stores").status_code == 403
