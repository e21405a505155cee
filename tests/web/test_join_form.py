"""The mobile enrollment page: language, CSRF, field errors, success."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.loyalty.models import Member, Program

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def members(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Member)) or 0


def form(client: FlaskClient, **values: str) -> dict[str, str]:
    token = csrf_from(client.get("/join/demo").get_data(as_text=True))
    return {
        "csrf_token": token,
        "name": "Мария",
        "phone": "+7 911 222-33-44",
        "consent": "on",
        **values,
    }


def test_the_page_speaks_the_visitors_language_and_can_switch(
    client: FlaskClient, demo: Program
) -> None:
    ru = client.get("/join/demo", headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert ru.status_code == 200
    assert "Получить карту" in ru.get_data(as_text=True)
    en = client.get("/join/demo", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "Get my card" in en.get_data(as_text=True)
    switched = client.get("/join/demo?lang=ru", headers={"Accept-Language": "en"})
    assert "Получить карту" in switched.get_data(as_text=True)
    # The choice sticks for the next page of this visitor.
    assert "Получить карту" in client.get("/join/demo", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    page = en.get_data(as_text=True)
    assert "2,000 points" in page and "7\u00a0%" in page
    assert 'name="viewport"' in page


def test_a_valid_form_creates_the_card_and_shows_the_card_page(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    response = client.post("/join/demo", data=form(client, birthday="2015-06-01"))
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/c/")
    assert "911" not in location and "Мария" not in location
    page = client.get(location, headers={"User-Agent": IPHONE})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "apple.pkpass" in html
    qr = client.get(location + "/qr.png")
    assert qr.status_code == 200 and qr.mimetype == "image/png"
    member = session.scalar(select(Member))
    assert member is not None and member.phone == "+79112223344"
    assert member.birthday is not None and member.birthday.isoformat() == "2015-06-01"


def test_a_form_without_a_valid_csrf_token_is_refused_and_keeps_the_input(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    data = form(client)
    data["csrf_token"] = "forged"
    response = client.post("/join/demo", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="Мария"' in html and 'value="+7 911 222-33-44"' in html
    assert members(session) == 0
    missing = client.post(
        "/join/demo", data={k: v for k, v in form(client).items() if k != "csrf_token"}
    )
    assert missing.status_code == 400
    assert members(session) == 0


def test_bad_fields_are_marked_and_nothing_is_created(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    response = client.post(
        "/join/demo",
        data=form(client, phone="123", email="bad", consent=""),
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="phone-error"' in html and 'id="email-error"' in html
    assert 'id="consent-error"' in html and 'id="name-error"' not in html
    assert "Please enter a valid mobile number." in html
    assert 'value="Мария"' in html  # the rest of the input is kept
    assert members(session) == 0


def test_a_second_enrollment_of_the_same_phone_is_refused(
    client: FlaskClient, session: Session, demo: Program
) -> None:
    assert client.post("/join/demo", data=form(client)).status_code == 303
    again = client.post(
        "/join/demo", data=form(client, name="Other"), headers={"Accept-Language": "en"}
    )
    assert again.status_code == 409
    assert "already has a card" in again.get_data(as_text=True)
    assert members(session) == 1


def test_unknown_program_is_a_friendly_404(client: FlaskClient, demo: Program) -> None:
    response = client.get("/join/nope", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "Page not found." in response.get_data(as_text=True)
