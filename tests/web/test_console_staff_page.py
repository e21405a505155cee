"""Issue 17, finding 2: admins manage staff in the console (disable, enable, new password,
API token revocation); CSRF-protected, audited, in Russian and English, admins only."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.services import staff
from app.staff.models import AuditEntry, StaffApiToken, StaffUser

PASSWORD = "correct horse battery"
NEW = "a brand new passphrase"


def add(session: Session, services: Services, email: str, role: str, demo: Program) -> StaffUser:
    user = staff.add_user(
        session,
        services.clock,
        email=email,
        name=email.split("@")[0].title(),
        role=role,
        password=PASSWORD,
        actor="cli",
        programs=[demo],
    )
    session.commit()
    return user


def csrf(client: FlaskClient, path: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match, path
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> int:
    return client.post(
        "/console/login",
        data={"csrf_token": csrf(client, "/console/login"), "email": email, "password": password},
    ).status_code


@pytest.fixture
def people(session: Session, services: Services, demo: Program) -> tuple[StaffUser, StaffUser]:
    return (
        add(session, services, "boss@example.com", "admin", demo),
        add(session, services, "mila@example.com", "marketer", demo),
    )


def test_only_admins_reach_the_staff_page(
    client: FlaskClient, people: tuple[StaffUser, StaffUser]
) -> None:
    assert sign_in(client, "mila@example.com") == 303
    assert client.get("/console/staff").status_code == 403
    token = csrf(client, "/console/")
    assert (
        client.post(
            f"/console/staff/{people[0].id}/disable", data={"csrf_token": token}
        ).status_code
        == 403
    )


def test_an_admin_disables_resets_and_revokes(
    app: Flask,
    client: FlaskClient,
    session: Session,
    services: Services,
    people: tuple[StaffUser, StaffUser],
) -> None:
    boss, mila = people
    api_token = staff.create_api_token(session, services.clock, mila, "crm")
    session.commit()
    mila_browser = app.test_client()
    assert sign_in(mila_browser, mila.email) == 303
    assert sign_in(client, boss.email) == 303

    ru = client.get("/console/staff", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "Сотрудники" in ru and "mila@example.com" in ru and "маркетолог" in ru
    en = client.get("/console/staff", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Staff" in en and "marketer" in en and "demo" in en

    forged = client.post(f"/console/staff/{mila.id}/disable", data={"csrf_token": "forged"})
    assert forged.status_code == 400 and mila_browser.get("/console/").status_code == 200

    token = csrf(client, "/console/staff")
    assert (
        client.post(f"/console/staff/{mila.id}/disable", data={"csrf_token": token}).status_code
        == 303
    )
    assert mila_browser.get("/console/").status_code == 302  # her session ended at once
    assert sign_in(mila_browser, mila.email) == 401
    auth = {"Authorization": f"Bearer {api_token}"}
    assert client.get("/api/v1/programs/demo/kpis", headers=auth).status_code == 401
    token = csrf(client, "/console/staff")
    assert (
        client.post(f"/console/staff/{mila.id}/enable", data={"csrf_token": token}).status_code
        == 303
    )
    assert client.get("/api/v1/programs/demo/kpis", headers=auth).status_code == 200

    token = csrf(client, "/console/staff")
    differ = client.post(
        f"/console/staff/{mila.id}/password",
        data={"csrf_token": token, "password": NEW, "password_again": NEW + "x"},
    )
    assert differ.status_code == 422
    weak = client.post(
        f"/console/staff/{mila.id}/password",
        data={"csrf_token": token, "password": "short", "password_again": "short"},
    )
    assert weak.status_code == 422
    done = client.post(
        f"/console/staff/{mila.id}/password",
        data={"csrf_token": token, "password": NEW, "password_again": NEW},
    )
    assert done.status_code == 303
    assert sign_in(mila_browser, mila.email) == 401
    assert sign_in(mila_browser, mila.email, NEW) == 303

    token_id = session.scalar(select(StaffApiToken.id).where(StaffApiToken.user_id == mila.id))
    token = csrf(client, "/console/staff")
    revoked = client.post(f"/console/staff/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert client.get("/api/v1/programs/demo/kpis", headers=auth).status_code == 401

    token = csrf(client, "/console/staff")
    last = client.post(f"/console/staff/{boss.id}/disable", data={"csrf_token": token})
    assert last.status_code == 409  # the last admin stays

    audit = session.scalars(
        select(AuditEntry.action).where(AuditEntry.actor == boss.email).order_by(AuditEntry.id)
    ).all()
    assert [a for a in audit if a != "staff.login"] == [
        "staff.disabled",
        "staff.enabled",
        "staff.password_changed",
        "staff.api_token_revoked",
    ]
