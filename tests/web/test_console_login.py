"""Staff log in to the console: CSRF, session expiry, roles, audit (throttling and
sessions ending on the server: test_staff_sessions.py)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.clock import FixedClock
from app.loyalty.errors import ValidationError
from app.services import staff
from app.staff.models import AuditEntry, StaffUser
from app.staff.passwords import hash_password, verify_password

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(session: Session, services: Services) -> StaffUser:
    user = staff.add_user(
        session,
        services.clock,
        email="Olga@Example.com",
        name="Olga",
        role="admin",
        password=PASSWORD,
        actor="cli",
    )
    session.commit()
    return user


def csrf(client: FlaskClient, path: str = "/console/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def log_in(client: FlaskClient, password: str = PASSWORD, **extra: str) -> object:
    return client.post(
        "/console/login",
        data={
            "csrf_token": csrf(client),
            "email": "olga@example.com",
            "password": password,
            **extra,
        },
        headers={"Accept-Language": "en"},
    )


def test_passwords_are_hashed_with_scrypt_and_verified() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$") and PASSWORD not in stored
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "x", stored)
    assert not verify_password(PASSWORD, "md5$whatever")


def test_weak_passwords_and_bad_accounts_are_refused(session: Session, services: Services) -> None:
    with pytest.raises(ValidationError) as error:
        staff.add_user(
            session,
            services.clock,
            email="nope",
            name="",
            role="root",
            password="short",
            actor="cli",
        )
    assert set(error.value.fields) == {"email", "name", "role", "password"}


def test_the_console_needs_a_login_and_then_shows_home(
    client: FlaskClient, admin: StaffUser, session: Session
) -> None:
    assert client.get("/console/").headers["Location"].startswith("/console/login")
    response = log_in(client, next="/console/")
    assert response.status_code == 303 and response.headers["Location"] == "/console/"
    home = client.get("/console/")
    assert home.status_code == 200 and "Olga" in home.get_data(as_text=True)
    actions = session.scalars(select(AuditEntry.action)).all()
    assert actions == ["staff.created", "staff.login"]


def test_an_unknown_email_looks_like_a_wrong_password(
    client: FlaskClient, admin: StaffUser
) -> None:
    response = client.post(
        "/console/login",
        data={"csrf_token": csrf(client), "email": "who@example.com", "password": PASSWORD},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 401
    assert "Wrong e-mail or password" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client: FlaskClient, admin: StaffUser) -> None:
    response = client.post(
        "/console/login", data={"email": "olga@example.com", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert client.get("/console/").status_code == 302


def test_no_open_redirect_after_login(client: FlaskClient, admin: StaffUser) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = log_in(client, next=target)
        assert response.headers["Location"] == "/console/"
        client.post("/console/logout", data={"csrf_token": csrf(client, "/console/")})


def test_idle_sessions_expire(client: FlaskClient, admin: StaffUser, clock: FixedClock) -> None:
    log_in(client)
    clock.advance(minutes=29)
    assert client.get("/console/").status_code == 200  # and the idle time starts again
    clock.advance(minutes=29)
    assert client.get("/console/").status_code == 200
    clock.advance(minutes=31)
    assert client.get("/console/").status_code == 302
    assert client.get("/console/").status_code == 302  # the session is gone, not just idle


def test_busy_sessions_end_twelve_hours_after_login(
    client: FlaskClient, admin: StaffUser, clock: FixedClock
) -> None:
    log_in(client)
    for _ in range(24):  # a request every 29 minutes: 11 h 36 min
        clock.advance(minutes=29)
        assert client.get("/console/").status_code == 200
    clock.advance(minutes=25)
    assert client.get("/console/").status_code == 302


def test_logout_ends_the_session(client: FlaskClient, admin: StaffUser) -> None:
    log_in(client)
    forged = client.post("/console/logout", data={"csrf_token": "forged"})
    assert forged.status_code == 303 and client.get("/console/").status_code == 200
    client.post("/console/logout", data={"csrf_token": csrf(client, "/console/")})
    assert client.get("/console/").status_code == 302
