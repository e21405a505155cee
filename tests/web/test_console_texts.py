"""A program's own card labels and back texts, edited in the console, reach the pass."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.passes.models import WalletPass
from app.services import cards, enrollment
from app.staff.models import AuditEntry
from tests.helpers import Pkpass, console_login


def csrf(client: FlaskClient) -> str:
    page = client.get("/console/programs/demo/texts").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def test_new_labels_and_back_texts_reach_the_pass_of_every_card(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    form = enrollment.EnrollmentForm(name="T", phone="+79161238888", consent=True, locale="ru")
    card = enrollment.enroll(
        session, services.clock, demo, enrollment.validate(form, demo, services.clock.now().date())
    )
    session.commit()
    console_login(client, session, services, "marketer")
    page = client.get("/console/programs/demo/texts").get_data(as_text=True)
    assert 'name="label.balance.ru"' in page and "Баллы" in page
    bad = client.post(
        "/console/programs/demo/texts",
        data={
            "csrf_token": csrf(client),
            "label.balance.ru": "",
            "back.how_it_works.en": "Get {cashback}",
        },
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'data-field="label.balance.ru"' in html and "{cashback}" in html
    version = session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id)) or 0
    done = client.post(
        "/console/programs/demo/texts",
        data={
            "csrf_token": csrf(client),
            "label.balance.ru": "Бонусы",
            "back.how_it_works.ru": "Скидка {discount} всегда.",
        },
    )
    assert done.status_code == 303
    session.expire_all()
    assert (
        session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id))
        == version + 1
    )
    program = session.get(Program, demo.id)
    assert program is not None
    pkpass = Pkpass.read(cards.apple_pass(session, card, services.pkpass, services.templates))
    fields = {f["key"]: f for slot in pkpass.pass_json["storeCard"].values() for f in slot}
    assert fields["balance"]["label"] == "Бонусы"
    assert fields["how_it_works"]["value"] == "Скидка 7\u00a0% всегда."
    assert pkpass.strings("en")["Бонусы"] == "Points"  # English keeps the template's label
    assert "card_texts.updated" in session.scalars(select(AuditEntry.action)).all()
    same = client.post("/console/programs/demo/texts", data={"csrf_token": csrf(client)})
    assert same.status_code == 303
    assert (
        session.scalar(select(WalletPass.version).where(WalletPass.card_id == card.id))
        == version + 1
    )
