"""Issue 17, finding 2: sessions end on the server, credentials can be withdrawn, and
wrong passwords are throttled without telling which accounts exist or locking them."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.services import staff
from app.settings import RateLimit
from app.staff.models import AuditEntry, StaffUser

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def olga(session: Session, services: Services) -> StaffUser:
    user = staff.add_user(
        session,
        services.clock,
        email="olga@example.com",
        name="Olga",
        role="marketer",
        password=PASSWORD,
        actor="cli",
    )
    session.commit()
    return user


def csrf(client: FlaskClient, path: str = "/console/login") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def log_in(client: FlaskClient, email: str = "olga@example.com", password: str = PASSWORD) -> int:
    response = client.post(
        "/console/login",
        data={"csrf_token": csrf(client), "email": email, "password": password},
        headers={"Accept-Language": "en"},
    )
    return response.status_code


def copy_session(source: FlaskClient, app: Flask) -> FlaskClient:
    """Another browser holding a copy of ``source``'s session cookie."""
    cookie = source.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def test_a_copied_cookie_stops_working_when_its_owner_logs_out(
    app: Flask, client: FlaskClient, olga: StaffUser
) -> None:
    assert log_in(client) == 303
    thief = copy_session(client, app)
    assert thief.get("/console/").status_code == 200  # the copy works while the owner is in
    client.post("/console/logout", data={"csrf_token": csrf(client, "/console/")})
    response = thief.get("/console/")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]


def test_a_password_change_or_disabling_ends_every_session(
    app: Flask, client: FlaskClient, olga: StaffUser, session: Session, services: Services
) -> None:
    assert log_in(client) == 303
    staff.change_password(session, services.clock, olga, NEW_PASSWORD, actor="cli")
    session.commit()
    assert client.get("/console/").status_code == 302
    assert log_in(client, password=PASSWORD) == 401
    assert log_in(client, password=NEW_PASSWORD) == 303
    staff.set_disabled(session, services.clock, olga, True, actor="cli")
    session.commit()
    assert client.get("/console/").status_code == 302
    assert log_in(client, password=NEW_PASSWORD) == 401
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "staff.password_changed" in actions and "staff.disabled" in actions


def test_unknown_disabled_and_much_guessed_accounts_all_run_one_password_check(
    client: FlaskClient,
    olga: StaffUser,
    session: Session,
    services: Services,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The probe timed a locked account at 5 ms and the others at ~117 ms: every answer
    must cost one scrypt check, whatever the account's state."""
    from app.services import staff as staff_service

    calls: list[str] = []
    real = staff_service.verify_password

    def counted(password: str, stored: str) -> bool:
        calls.append(stored.split("$")[0])
        return real(password, stored)

    monkeypatch.setattr(staff_service, "verify_password", counted)
    for _ in range(6):  # what used to lock the account
        assert log_in(client, password="wrong password here") == 401
    assert len(calls) == 6
    calls.clear()
    assert log_in(client, email="nobody@example.com") == 401
    assert calls == ["scrypt"]
    staff.set_disabled(session, services.clock, olga, True, actor="cli")
    session.commit()
    calls.clear()
    assert log_in(client) == 401
    assert calls == ["scrypt"]


def test_guessing_does_not_lock_the_real_user_out(client: FlaskClient, olga: StaffUser) -> None:
    """Five wrong passwords used to lock the account for 15 minutes: anyone knowing an
    e-mail could keep its owner out. Guessing is throttled per address and per account
    (429) instead; the owner still gets in while those limits allow it."""
    for _ in range(6):
        assert log_in(client, password="wrong password here") == 401
    assert log_in(client) == 303


def test_guessing_one_account_is_throttled(
    app: Flask, client: FlaskClient, olga: StaffUser
) -> None:
    app.extensions["walletpass_limits"]["login_account"] = RateLimit(4, 900)
    codes = [log_in(client, password="wrong password here") for _ in range(5)]
    assert codes == [401, 401, 401, 401, 429]
