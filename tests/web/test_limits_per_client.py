"""Rate limits as clients meet them: per address, per phone, per account, per terminal.

The counters live in their own short transactions (here a database file of their own,
see conftest), so they are shared by processes and survive a rolled-back request.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.clock import FixedClock
from app.loyalty.models import Program
from app.ratelimits.models import RateLimitCounter
from app.services import staff, terminals
from app.settings import RateLimit

URL = "/api/v1/programs/demo/enrollments"


def enroll(client: FlaskClient, phone: str, address: str = "198.51.100.1") -> Any:
    return client.post(
        URL,
        json={"name": "Anna Smirnova", "phone": phone, "consent": True},
        environ_base={"REMOTE_ADDR": address},
    )


def assert_limited(response: Any, words: str) -> None:
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    assert words in response.json["error"]["message"]
    assert int(response.headers["Retry-After"]) >= 1


def stored_keys(services: Services) -> list[str]:
    with services.limiter.store._engine.connect() as conn:  # type: ignore[attr-defined]
        return list(conn.scalars(select(RateLimitCounter.key)))


def test_one_phone_number_is_limited_in_any_format_from_any_address(
    app: Flask, client: FlaskClient, services: Services, demo: Program
) -> None:
    app.extensions["walletpass_limits"]["enroll_phone"] = RateLimit(2, 86400)
    assert enroll(client, "+7 916 555-44-33", "198.51.100.1").status_code == 201
    assert enroll(client, "8 (916) 555 44 33", "198.51.100.2").status_code == 409  # counts too
    assert_limited(enroll(client, "+79165554433", "198.51.100.3"), "phone number")
    assert enroll(client, "+7 916 555-44-34", "198.51.100.3").status_code == 201
    # Neither the phone number nor the address is kept in clear.
    keys = stored_keys(services)
    assert keys and not any("5554433" in key or "198.51" in key for key in keys)


def test_a_rolled_back_request_still_counts(
    app: Flask, client: FlaskClient, session: Session, demo: Program
) -> None:
    app.extensions["walletpass_limits"]["enroll"] = RateLimit(2, 3600)
    assert enroll(client, "not a phone").status_code == 422
    assert enroll(client, "+7 916 000").status_code == 422
    assert_limited(enroll(client, "+7 916 555-44-35"), "this address")


def test_a_terminal_is_limited_on_its_own_and_recovers(
    app: Flask,
    client: FlaskClient,
    session: Session,
    services: Services,
    clock: FixedClock,
    demo: Program,
) -> None:
    app.extensions["walletpass_limits"]["pos"] = RateLimit(3, 60)
    _, busy = terminals.add_terminal(session, services.clock, demo, "Till 1")
    _, calm = terminals.add_terminal(session, services.clock, demo, "Till 2")
    session.commit()

    def whoami(key: str) -> Any:
        return client.get("/api/pos/v1/terminal", headers={"Authorization": f"Bearer {key}"})

    assert [whoami(busy).status_code for _ in range(3)] == [200, 200, 200]
    refused = whoami(busy)
    assert_limited(refused, "terminal")
    assert whoami(calm).status_code == 200  # same address, another terminal
    clock.advance(seconds=int(refused.headers["Retry-After"]))
    assert whoami(busy).status_code == 200
    # A wrong key is refused as unknown, not counted against a terminal.
    bad = client.get("/api/pos/v1/terminal", headers={"Authorization": "Bearer x"})
    assert bad.status_code == 401


def test_console_sign_in_is_limited_per_account_from_any_address(
    app: Flask, client: FlaskClient, session: Session, services: Services
) -> None:
    app.extensions["walletpass_limits"]["login_account"] = RateLimit(3, 900)
    for email in ("olga@example.com", "ivan@example.com"):
        staff.add_user(
            session,
            services.clock,
            email=email,
            name="Staff",
            role="admin",
            password="correct horse battery",
            actor="cli",
        )
    session.commit()

    def attempt(email: str, address: str, password: str = "wrong password!") -> Any:  # noqa: S107
        page = client.get("/console/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        return client.post(
            "/console/login",
            data={"csrf_token": token.group(1), "email": email, "password": password},
            headers={"Accept-Language": "en"},
            environ_base={"REMOTE_ADDR": address},
        )

    assert [attempt("olga@example.com", f"203.0.113.{i}").status_code for i in range(3)] == [
        401,
        401,
        401,
    ]
    refused = attempt("OLGA@example.com ", "203.0.113.99", "correct horse battery")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many attempts" in refused.get_data(as_text=True)
    # Another account from the same address is not held back.
    ok = attempt("ivan@example.com", "203.0.113.99", "correct horse battery")
    assert ok.status_code == 303


def test_console_sign_in_is_still_limited_per_address(app: Flask, client: FlaskClient) -> None:
    app.extensions["walletpass_limits"]["login"] = RateLimit(2, 900)
    statuses = []
    for i in range(3):
        page = client.get("/console/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token
        statuses.append(
            client.post(
                "/console/login",
                data={"csrf_token": token.group(1), "email": f"u{i}@example.com", "password": "x"},
            ).status_code
        )
    assert statuses == [401, 401, 429]
