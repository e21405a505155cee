"""Issue 17, finding 8: control characters are refused in every entered text, Wallet's
log lines are stored and printed without them, and CSV exports cannot run formulas."""

from __future__ import annotations

import csv
import io
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.bounds import csv_cell
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Program
from app.services import campaigns, imports, members, passkit, staff, stores, terminals
from tests.helpers import console_login

BAD = ["Sale\x00", "Sale\x1b[31m", "Sale\u202egnp.exe", "Sale\x7f", "Sale\x85"]


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


@pytest.mark.parametrize("bad", BAD)
def test_the_enrollment_api_refuses_control_characters(
    client: FlaskClient, demo: Program, bad: str
) -> None:
    for field, value in (("name", f"Maria {bad}"), ("email", f"m{bad}@example.com")):
        body = {"name": "Maria", "phone": "+7 916 555-44-33", "consent": True, field: value}
        response = client.post("/api/v1/programs/demo/enrollments", json=body)
        assert response.status_code == 422, (field, value)
        assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("bad", BAD)
def test_services_refuse_control_characters_in_staff_entered_text(
    session: Session, services: Services, demo: Program, bad: str
) -> None:
    clock = services.clock
    attempts = [
        lambda: campaigns.create(
            session,
            clock,
            demo,
            campaigns.Draft(name="n", offer_en=bad, offer_ru="o", segment={}),
            "t",
        ),
        lambda: campaigns.create(
            session,
            clock,
            demo,
            campaigns.Draft(name=bad, offer_en="o", offer_ru="o", segment={}),
            "t",
        ),
        lambda: stores.add_store(session, clock, demo, {"code": "s1", "name": bad}, "t"),
        lambda: terminals.add_terminal(session, clock, demo, bad),
        lambda: staff.add_user(
            session,
            clock,
            email="x@example.com",
            name=bad,
            role="admin",
            password="a long enough passphrase",
            actor="t",
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError):
            attempt()


def test_console_card_texts_refuse_control_characters(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    path = "/console/programs/demo/texts?lang=en"
    response = client.post(
        path, data={"csrf_token": csrf(client, path), "back.how_it_works.en": "Offer\x00 now"}
    )
    assert response.status_code == 422
    assert "Remove the control characters" in response.get_data(as_text=True)
    assert session.get(Program, demo.id).card_texts_draft is None  # type: ignore[union-attr]


def test_wallet_log_lines_are_stored_and_printed_without_control_characters(
    client: FlaskClient, session: Session
) -> None:
    line = "Get pass task\x1b[2J\x1b]0;owned\x07 failed\r\nforged line\x00"
    assert client.post("/passkit/v1/log", json={"logs": [line]}).status_code == 200
    (row,) = passkit.recent_logs(session)
    assert not any(ord(ch) < 32 or ord(ch) == 0x7F for ch in row.message)
    assert "Get pass task" in row.message and "forged line" in row.message


def test_a_member_named_like_a_formula_is_exported_as_text(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    for i, name in enumerate(('=HYPERLINK("http://x")', "+cmd", "@SUM(A1)", "-2+3")):
        body = {"name": name, "phone": f"+7 916 555-44-3{i}", "consent": True}
        assert client.post("/api/v1/programs/demo/enrollments", json=body).status_code == 201
    text = "".join(imports.export_members(session, demo))
    names = [row["name"] for row in csv.DictReader(io.StringIO(text))]
    assert sorted(names) == sorted(['\'=HYPERLINK("http://x")', "'+cmd", "'@SUM(A1)", "'-2+3"])


def test_csv_cells_keep_numbers_and_neutralise_formulas() -> None:
    assert csv_cell("-0.25") == "-0.25" and csv_cell(-3) == -3 and csv_cell("12") == "12"
    for text in ("=1+1", "+1+1", "-1+1", "@A1", "\tx", "\rx"):
        assert csv_cell(text) == "'" + text


def test_the_dashboard_csv_goes_through_the_safe_writer(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    stores.add_store(
        session,
        services.clock,
        demo,
        {"code": "main", "name": "Main", "latitude": "55.75", "longitude": "37.61"},
        "t",
    )
    session.commit()
    console_login(client, session, services, "admin")
    response = client.get("/console/dashboard.csv?program=demo&store=main")
    assert response.status_code == 200
    for row in csv.reader(io.StringIO(response.get_data(as_text=True))):
        for cell in row:
            assert not cell.startswith(("=", "+", "@")), cell
            if cell.startswith("-"):
                float(cell)  # a negative number, not a formula


def test_members_adjust_refuses_control_characters(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    body = {"name": "Maria", "phone": "+7 916 555-44-33", "consent": True}
    number = client.post("/api/v1/programs/demo/enrollments", json=body).get_json()["card"][
        "number"
    ]
    card = session.scalars(select(Card).where(Card.number == number)).one()
    with pytest.raises(ValidationError):
        members.adjust(session, services.clock, card, 10, "goodwill\x1b[31m", "t")
