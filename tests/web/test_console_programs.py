"""Issue 18, item 1: admins create, edit and archive programs in the console; changes are
validated, audited and pushed to the cards where they show; other roles get 403."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.errors import ProgramClosedError
from app.loyalty.models import Card, Program
from app.passes.models import WalletPass
from app.services import enrollment
from app.staff.models import AuditEntry
from tests.helpers import console_login


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def program_form(**overrides: str) -> dict[str, str]:
    form = {
        "slug": "kroha",
        "name": "Клуб «Кроха»",
        "brand_name": "Кроха",
        "timezone": "Asia/Yekaterinburg",
        "currency": "RUB",
        "default_locale": "ru",
        "earn_rate": "5",
        "redeem_share": "30",
        "point_value": "1",
        "registration_bonus": "500",
        "registration_bonus_days": "90",
        "birthday_bonus": "1000",
        "birthday_bonus_days": "",
        "points_validity_days": "365",
        "tiers.0.code": "base",
        "tiers.0.name_ru": "Друг",
        "tiers.0.discount": "7",
        "tiers.0.grant": "default",
        "tiers.1.code": "large_family",
        "tiers.1.name_ru": "Многодетная семья",
        "tiers.1.name_en": "Large family",
        "tiers.1.discount": "15",
        "tiers.1.grant": "staff",
    }
    form.update(overrides)
    return form


def enroll(session: Session, services: Services, program: Program, phone: str) -> Card:
    form = enrollment.EnrollmentForm(name="Анна", phone=phone, consent=True)
    data = enrollment.validate(form, program, services.clock.now().date())
    card = enrollment.enroll(session, services.clock, program, data)
    session.commit()
    return card


def test_an_admin_creates_a_program_with_two_tiers(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    token = csrf(client, "/console/programs/new")
    created = client.post("/console/programs/new", data={"csrf_token": token, **program_form()})
    assert created.status_code == 303
    assert created.headers["Location"].endswith("/console/programs/kroha/edit")
    program = session.scalars(select(Program).where(Program.slug == "kroha")).one()
    assert (program.timezone, program.earn_rate_bp, program.registration_bonus) == (
        "Asia/Yekaterinburg",
        500,
        500,
    )
    assert program.birthday_bonus_days is None and program.points_validity_days == 365
    assert [(t.code, t.discount_bp, t.is_default, t.staff_assigned) for t in program.tiers] == [
        ("base", 700, True, False),
        ("large_family", 1500, False, True),
    ]
    assert program.tiers[0].name_en == "Друг"  # no English name: the Russian one
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "program.created")).one()
    assert entry.actor == "admin.user@example.com" and entry.target == "kroha"
    # The demo stays one program among others, and the new one takes members at once.
    listing = client.get("/console/programs").get_data(as_text=True)
    assert 'data-slug="demo"' in listing and 'data-slug="kroha"' in listing
    assert client.get("/join/kroha").status_code == 200


def test_bad_values_are_answered_field_by_field_in_russian(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    token = csrf(client, "/console/programs/new")
    bad = client.post(
        "/console/programs/new",
        data={
            "csrf_token": token,
            **program_form(
                slug="demo",
                name="\x1b[31m",
                timezone="Moscow",
                earn_rate="5%",
                point_value="0",
                points_validity_days="99999",
                **{"tiers.1.grant": "default", "tiers.1.discount": "150"},
            ),
        },
        headers={"Accept-Language": "ru"},
    )
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    for field in ("slug", "name", "timezone", "earn_rate", "point_value", "points_validity_days"):
        assert f'id="{field}-error"' in page, field
    assert 'id="tiers.1.discount-error"' in page and 'id="tiers-error"' in page
    assert "Часовой пояс, например Europe/Moscow" in page
    assert session.scalar(select(Program.id).where(Program.slug != "demo")) is None
    assert not session.scalars(
        select(AuditEntry).where(AuditEntry.action == "program.created")
    ).all()


def test_editing_tiers_pushes_the_cards_and_a_held_tier_cannot_go(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    card = enroll(session, services, demo, "+79161230001")
    before = session.scalars(select(WalletPass.version).where(WalletPass.card_id == card.id)).one()
    console_login(client, session, services, "admin")
    path = "/console/programs/demo/edit"
    form = {
        **program_form(),
        "name": demo.name,
        "brand_name": demo.brand_name,
        "timezone": demo.timezone,
        "registration_bonus": str(demo.registration_bonus),
        "registration_bonus_days": str(demo.registration_bonus_days),
        "birthday_bonus": str(demo.birthday_bonus),
        "birthday_bonus_days": str(demo.birthday_bonus_days),
        "tiers.0.name_ru": "Подруга",
        "tiers.0.name_en": "Friend",
        "tiers.0.discount": "8",
        "tiers.1.code": "large_family",
    }
    form.pop("slug")
    saved = client.post(path, data={"csrf_token": csrf(client, path), **form})
    assert saved.status_code == 303
    session.expire_all()
    base = demo.default_tier
    assert (base.name_ru, base.discount_bp) == ("Подруга", 800)
    after = session.scalars(select(WalletPass.version).where(WalletPass.card_id == card.id)).one()
    assert after > before  # the card shows the tier's name and discount: it is re-issued
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "program.updated")).one()
    assert entry.details is not None and entry.details["tiers"]["base"] == {
        "name_ru": "Подруга",
        "discount_bp": 800,
    }
    # The base tier holds the card: it cannot be removed.
    gone = {**form, "tiers.0.code": "friend"}
    refused = client.post(path, data={"csrf_token": csrf(client, path), **gone})
    assert refused.status_code == 422 and "base (1)" in refused.get_data(as_text=True)


def test_archiving_closes_enrollment_and_makes_the_console_read_only(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    archived = client.post(
        "/console/programs/demo/archive", data={"csrf_token": csrf(client, "/console/programs")}
    )
    assert archived.status_code == 303
    closed = client.get("/join/demo", headers={"Accept-Language": "ru"})
    assert closed.status_code == 410
    assert "больше не принимает новых участников" in closed.get_data(as_text=True)
    session.expire_all()
    with pytest.raises(ProgramClosedError):
        enroll(session, services, demo, "+79161230002")
    session.rollback()
    token = csrf(client, "/console/programs/demo/rules")
    refused = client.post(
        "/console/programs/demo/rules", data={"csrf_token": token, "newcomer_days": "30"}
    )
    assert refused.status_code == 409 and "в архиве" in refused.get_data(as_text=True).lower()
    edit = client.get("/console/programs/demo/edit").get_data(as_text=True)
    assert 'id="archived"' in edit and "disabled" in edit
    restored = client.post(
        "/console/programs/demo/restore", data={"csrf_token": csrf(client, "/console/programs")}
    )
    assert restored.status_code == 303
    assert client.get("/join/demo").status_code == 200
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.target == "demo").order_by(AuditEntry.id)
    ).all()
    assert actions[-2:] == ["program.archived", "program.restored"]


@pytest.mark.parametrize("role", ["marketer", "store_manager"])
def test_only_admins_manage_programs(
    client: FlaskClient, session: Session, services: Services, demo: Program, role: str
) -> None:
    console_login(client, session, services, role)
    token = csrf(client, "/console/")
    for path in ("/console/programs", "/console/programs/new", "/console/programs/demo/edit"):
        assert client.get(path).status_code == 403, path
    for path in ("/console/programs/new", "/console/programs/demo/archive"):
        assert client.post(path, data={"csrf_token": token, **program_form()}).status_code == 403
    session.expire_all()
    assert demo.archived_at is None


def test_an_unknown_program_is_404_for_an_admin(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    assert client.get("/console/programs/nope/edit").status_code == 404


def test_a_tier_granted_by_spend_is_reached_at_the_till(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    from app.loyalty.models import Tier
    from app.services import terminals

    demo.tiers.append(
        Tier(
            code="gold", name_en="Gold", name_ru="Золото", discount_bp=1000, spend_threshold=150000
        )
    )
    card = enroll(session, services, demo, "+79161230003")
    _, key = terminals.add_terminal(session, services.clock, demo, "Касса 9")
    session.commit()
    code = f"{card.number}-{card.barcode_secret}"
    auth = {"Authorization": f"Bearer {key}"}
    for n, amount in enumerate((100000, 100000), 1):
        sold = client.post(
            "/api/pos/v1/purchases",
            json={"receipt_id": f"s-{n}", "amount": amount, "barcode": code},
            headers=auth,
        )
        assert sold.status_code == 201, sold.get_json()
    session.expire_all()
    # 930 + 930 paid (7 % off) = 1 860 ₽ ≥ 1 500 ₽: the card is on the 10 % tier now.
    assert card.tier.code == "gold"
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "card.tier_reached")
    ).one()
    assert entry.details == {"tier": "gold", "spent": 186000}
