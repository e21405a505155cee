"""POST /api/v1/programs/<program>/enrollments and the links it returns."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty import rules
from app.loyalty.models import Card, Member, Program
from tests.helpers import Pkpass

URL = "/api/v1/programs/demo/enrollments"
GOOD = {"name": "Ivan Petrov", "phone": "+7 900 765-43-21", "consent": True}


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_enrollment_creates_a_card_and_links_to_a_downloadable_pass(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    response = client.post(
        URL, json={**GOOD, "birthday": "1990-05-02", "email": "ivan@example.com", "locale": "en"}
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body is not None
    number, barcode = body["card"]["number"], body["card"]["barcode"]
    assert rules.luhn_valid(number)
    assert rules.parse_barcode(barcode) == (number, barcode.split("-")[1])
    assert "9007654321" not in barcode
    links = body["links"]
    assert links["apple_pass"].startswith("https://wallet.example.test/c/")
    assert links["card_page"].startswith("https://wallet.example.test/c/")
    # No personal data in URLs.
    assert "ivan" not in (links["apple_pass"] + links["card_page"]).lower()

    pkpass = client.get(links["apple_pass"].removeprefix("https://wallet.example.test"))
    assert pkpass.status_code == 200
    assert pkpass.mimetype == "application/vnd.apple.pkpass"
    assert pkpass.headers["Content-Disposition"] == 'attachment; filename="demo.pkpass"'
    p = Pkpass.read(pkpass.data)
    assert p.pass_json["barcodes"][0]["message"] == barcode

    member = session.scalar(select(Member).where(Member.phone == "+79007654321"))
    assert member is not None and member.locale == "en" and member.email == "ivan@example.com"
    assert member.consent_at is not None


def test_the_card_page_shows_the_card(client: FlaskClient, demo: Program) -> None:
    body = client.post(URL, json=GOOD).json
    assert body is not None
    page = client.get(
        body["links"]["card_page"].removeprefix("https://wallet.example.test"),
        headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)"},
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert rules.format_card_number(body["card"]["number"]) in html
    assert "apple.pkpass" in html
    assert 'id="add-google"' not in html and "google_save" not in body["links"]  # Google is off
    assert page.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name", "phone", "consent"}),
        ({**GOOD, "phone": "12"}, {"phone"}),
        ({**GOOD, "phone": 79001234567}, {"phone"}),
        ({**GOOD, "name": "  "}, {"name"}),
        ({**GOOD, "consent": False}, {"consent"}),
        ({**GOOD, "consent": "yes"}, {"consent"}),
        ({**GOOD, "birthday": "02.05.1990"}, {"birthday"}),
        ({**GOOD, "birthday": "2099-01-01"}, {"birthday"}),
        ({**GOOD, "email": "nope"}, {"email"}),
        ({**GOOD, "locale": "de"}, {"locale"}),
    ],
)
def test_invalid_input_is_rejected_field_by_field_and_creates_nothing(
    client: FlaskClient, session: Session, demo: Program, body: dict[str, Any], fields: set[str]
) -> None:
    response = client.post(URL, json=body)
    assert response.status_code == 422
    error = response.json["error"]  # type: ignore[index]
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) == fields
    assert count(session, Member) == 0 and count(session, Card) == 0


def test_an_enrolled_phone_gets_409_without_revealing_the_card(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    first = client.post(URL, json=GOOD).json
    assert first is not None
    again = client.post(URL, json={**GOOD, "phone": "8 (900) 765 43 21", "name": "Someone Else"})
    assert again.status_code == 409
    assert again.json["error"]["code"] == "already_enrolled"  # type: ignore[index]
    text = again.get_data(as_text=True)
    assert first["card"]["number"] not in text and first["card"]["barcode"] not in text
    assert count(session, Member) == 1


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "bad_request"),
        ({"json": ["a", "list"]}, 400, "bad_request"),
        (
            {"data": "name=x", "content_type": "application/x-www-form-urlencoded"},
            415,
            "unsupported_media_type",
        ),
        ({"json": {**GOOD, "admin": True}}, 400, "bad_request"),
        ({"json": {**GOOD, "name": "x" * 70_000}}, 413, "request_too_large"),
    ],
)
def test_malformed_requests_get_a_clear_json_error(
    client: FlaskClient,
    session: Session,
    demo: Program,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = client.post(URL, **kwargs)
    assert response.status_code == status
    assert response.json["error"]["code"] == code  # type: ignore[index]
    assert response.json["error"]["message"]  # type: ignore[index]
    assert count(session, Member) == 0


def test_unknown_program_and_unknown_card(client: FlaskClient, demo: Program) -> None:
    response = client.post("/api/v1/programs/nope/enrollments", json=GOOD)
    assert response.status_code == 404
    assert response.json["error"]["code"] == "unknown_program"  # type: ignore[index]
    assert client.get("/c/not-a-card/apple.pkpass").status_code == 404


def test_enrollment_is_rate_limited_per_address(
    services: Any, session: Session, demo: Program
) -> None:
    from app.settings import RateLimit
    from app.web import create_app

    app = create_app(services=services)
    app.extensions["walletpass_limits"]["enroll"] = RateLimit(3, 3600)
    client = app.test_client()
    statuses = [
        client.post(URL, json={**GOOD, "phone": f"+7 900 000-00-0{i}"}).status_code
        for i in range(5)
    ]
    assert statuses == [201, 201, 201, 429, 429]
    limited = client.post(URL, json={**GOOD, "phone": "+7 900 000-00-09"})
    assert limited.json["error"]["code"] == "rate_limited"  # type: ignore[index]
    assert int(limited.headers["Retry-After"]) > 0
    other = client.post(
        URL, json={**GOOD, "phone": "+7 900 000-00-08"}, environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert other.status_code == 201
    assert count(session, Member) == 4
