"""Issue 17, finding 3: staff see only their programs (store managers only their stores),
and point adjustments above the role's cap wait for a second admin; all of it audited."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Card, LedgerEntry, Program
from app.services import campaigns, enrollment, staff, staff_scope, stores
from app.services.programs import seed_demo
from app.staff.models import AuditEntry, PendingAdjustment, StaffUser

PASSWORD = "correct horse battery"


@pytest.fixture
def two(session: Session, services: Services) -> tuple[Program, Program]:
    """Two programs: "north" (the staff's own) and "demo" (someone else's)."""
    north = seed_demo(session, services.clock)
    north.slug = "north"
    session.flush()
    other = seed_demo(session, services.clock)
    session.commit()
    return north, other


def card_in(session: Session, services: Services, program: Program, phone: str) -> Card:
    form = enrollment.EnrollmentForm(name="Anna Petrova", phone=phone, consent=True)
    card = enrollment.enroll(
        session,
        services.clock,
        program,
        enrollment.validate(form, program, services.clock.now().date()),
    )
    session.commit()
    return card


def add(
    session: Session, services: Services, role: str, programs: list[Program], email: str = ""
) -> StaffUser:
    user = staff.add_user(
        session,
        services.clock,
        email=email or f"{role.replace('_', '-')}@example.com",
        name=role.title(),
        role=role,
        password=PASSWORD,
        actor="cli",
        programs=programs,
    )
    session.commit()
    return user


def csrf(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def sign_in(client: FlaskClient, user: StaffUser) -> None:
    response = client.post(
        "/console/login",
        data={
            "csrf_token": csrf(client, "/console/login"),
            "email": user.email,
            "password": PASSWORD,
        },
    )
    assert response.status_code == 303


def test_a_marketer_sees_only_the_programs_they_belong_to(
    client: FlaskClient, session: Session, services: Services, two: tuple[Program, Program]
) -> None:
    north, other = two
    card = card_in(session, services, other, "+79160000001")
    theirs = campaigns.create(
        session,
        services.clock,
        other,
        campaigns.Draft(
            name="Theirs",
            offer_en="Hi",
            offer_ru="Привет",
            segment={},
            bonus_points=0,
            bonus_days=None,
            holdout_percent=10,
            send_at=None,
        ),
        actor="cli",
    )
    session.commit()
    sign_in(client, add(session, services, "marketer", [north]))
    assert client.get("/console/dashboard?program=north").status_code == 200
    for path in (
        "/console/dashboard?program=demo",
        "/console/dashboard.csv?program=demo",
        "/console/segments?program=demo",
        "/console/campaigns/new?program=demo",
        f"/console/campaigns/{theirs.id}",
        "/console/programs/demo/design",
        "/console/programs/demo/stores",
        "/console/members?program=demo",
        f"/console/cards/{card.number}?program=demo",
    ):
        assert client.get(path).status_code == 404, path
    home = client.get("/console/").get_data(as_text=True)
    campaigns_page = client.get("/console/campaigns").get_data(as_text=True)
    assert "north" in home and "/programs/demo/" not in home
    assert "Theirs" not in campaigns_page
    # Without ?program= the first program *of theirs* is shown, not the first of all.
    assert "north" in client.get("/console/dashboard").get_data(as_text=True)


def test_the_crm_api_is_limited_to_the_token_owners_programs(
    client: FlaskClient, session: Session, services: Services, two: tuple[Program, Program]
) -> None:
    north, _ = two
    user = add(session, services, "marketer", [north])
    token = staff.create_api_token(session, services.clock, user, "crm")
    session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/programs/north/kpis", headers=auth).status_code == 200
    assert client.get("/api/v1/programs/demo/kpis", headers=auth).status_code == 404
    body = {"segment": {}}
    assert (
        client.post("/api/v1/programs/demo/segments/size", json=body, headers=auth).status_code
        == 404
    )


def test_a_store_manager_sees_only_their_stores_on_the_dashboard(
    client: FlaskClient, session: Session, services: Services, two: tuple[Program, Program]
) -> None:
    north, _ = two
    mine = north.stores[0]
    values = {"code": "spb-nevsky", "name": "Nevsky Prospekt", "latitude": "59.93"}
    theirs = stores.add_store(
        session, services.clock, north, {**values, "longitude": "30.35"}, actor="cli"
    )
    user = add(session, services, "store_manager", [north])
    staff_scope.set_scope(session, services.clock, user, [north], [mine], actor="cli")
    session.commit()
    sign_in(client, user)
    page = client.get("/console/dashboard?program=north")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert mine.name in html and theirs.name not in html
    assert client.get(f"/console/dashboard?program=north&store={theirs.code}").status_code == 404


def adjust(client: FlaskClient, card: Card, points: int, reason: str = "till was down") -> object:
    path = f"/console/cards/{card.number}?program={card.program.slug}"
    return client.post(
        f"/console/cards/{card.number}/adjust",
        data={
            "csrf_token": csrf(client, path),
            "program": card.program.slug,
            "points": str(points),
            "reason": reason,
        },
        headers={"Accept-Language": "en"},
    )


def balance(session: Session, card: Card) -> int:
    session.expire_all()
    return int(session.scalar(select(Card.balance).where(Card.id == card.id)) or 0)


def test_adjustments_above_the_cap_wait_for_another_admin(
    app: Flask,
    client: FlaskClient,
    session: Session,
    services: Services,
    two: tuple[Program, Program],
) -> None:
    north, _ = two
    card = card_in(session, services, north, "+79160000002")
    start = balance(session, card)
    manager = add(session, services, "store_manager", [north])
    boss = add(session, services, "admin", [], email="boss@example.com")
    second = add(session, services, "admin", [], email="second@example.com")
    sign_in(client, manager)

    small = adjust(client, card, 500)
    assert small.status_code == 303 and balance(session, card) == start + 500
    big = adjust(client, card, 3000, "lost receipts of a big order")
    assert big.status_code == 303
    assert balance(session, card) == start + 500  # not yet
    pending = session.scalars(select(PendingAdjustment)).one()
    assert (pending.points, pending.status, pending.requested_by) == (
        3000,
        "pending",
        manager.email,
    )
    assert client.get("/console/adjustments").status_code == 403  # managers cannot approve

    # The requester cannot approve their own request, even as an admin.
    self_request = adjust_as_admin(app, session, boss, card, 20_000)
    own = app.test_client()
    sign_in(own, boss)
    refused = own.post(
        f"/console/adjustments/{self_request.id}/approve",
        data={"csrf_token": csrf(own, "/console/adjustments")},
    )
    assert refused.status_code == 409

    approver = app.test_client()
    sign_in(approver, second)
    listing = approver.get("/console/adjustments", headers={"Accept-Language": "ru"})
    assert listing.status_code == 200 and "lost receipts of a big order" in listing.get_data(
        as_text=True
    )
    forged = approver.post(f"/console/adjustments/{pending.id}/approve", data={"csrf_token": "x"})
    assert forged.status_code == 400 and balance(session, card) == start + 500
    approved = approver.post(
        f"/console/adjustments/{pending.id}/approve",
        data={"csrf_token": csrf(approver, "/console/adjustments")},
    )
    assert approved.status_code == 303 and balance(session, card) == start + 3500
    again = approver.post(
        f"/console/adjustments/{pending.id}/approve",
        data={"csrf_token": csrf(approver, "/console/adjustments")},
    )
    assert again.status_code == 409 and balance(session, card) == start + 3500
    rejected = approver.post(
        f"/console/adjustments/{self_request.id}/reject",
        data={"csrf_token": csrf(approver, "/console/adjustments")},
    )
    assert rejected.status_code == 303 and balance(session, card) == start + 3500

    entries = session.scalars(
        select(LedgerEntry).where(LedgerEntry.card_id == card.id, LedgerEntry.kind == "adjust")
    ).all()
    assert sorted(e.points for e in entries) == [500, 3000]
    audit = [
        (a.action, a.actor, (a.details or {}).get("reason"), (a.details or {}).get("requested_by"))
        for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("card.adjust%")).order_by(AuditEntry.id)
        )
    ]
    assert audit == [
        ("card.adjusted", manager.email, "till was down", None),
        ("card.adjustment_requested", manager.email, "lost receipts of a big order", None),
        ("card.adjustment_requested", boss.email, "too big to do alone", None),
        ("card.adjusted", second.email, "lost receipts of a big order", manager.email),
        ("card.adjustment_rejected", second.email, "too big to do alone", boss.email),
    ]


def adjust_as_admin(
    app: Flask, session: Session, admin: StaffUser, card: Card, points: int
) -> PendingAdjustment:
    client = app.test_client()
    sign_in(client, admin)
    assert adjust(client, card, points, "too big to do alone").status_code == 303
    session.expire_all()
    return session.scalars(
        select(PendingAdjustment).where(PendingAdjustment.points == points)
    ).one()


def test_store_managers_cannot_reach_another_programs_cards(
    client: FlaskClient, session: Session, services: Services, two: tuple[Program, Program]
) -> None:
    north, other = two
    card = card_in(session, services, other, "+79160000003")
    before = balance(session, card)
    sign_in(client, add(session, services, "store_manager", [north]))
    response = client.post(
        f"/console/cards/{card.number}/adjust",
        data={
            "csrf_token": csrf(client, "/console/members?program=north"),
            "program": "demo",
            "points": "100",
            "reason": "should not work",
        },
    )
    assert response.status_code == 404 and balance(session, card) == before
