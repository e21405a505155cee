"""Issue 17, finding 6: requests that used to answer 500 now answer a clear 4xx."""

from __future__ import annotations

import io
import re
import struct
import zlib
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.campaigns.models import Campaign
from app.loyalty.models import Program
from app.services import staff, terminals
from tests.helpers import console_login

NESTED = b"[" * 60_000


def tiny_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00"))
        + chunk(b"IEND", b"")
    )


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, path
    return match.group(1)


@pytest.fixture
def till_key(session: Session, services: Services, demo: Program) -> str:
    _, key = terminals.add_terminal(session, services.clock, demo, "Till 1")
    session.commit()
    return key


@pytest.fixture
def staff_token(session: Session, services: Services, demo: Program) -> str:
    user = staff.add_user(
        session,
        services.clock,
        email="crm@example.com",
        name="CRM",
        role="admin",
        password="a long enough passphrase",
        actor="test",
    )
    token = staff.create_api_token(session, services.clock, user, "crm")
    session.commit()
    return token


@pytest.fixture
def console(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> FlaskClient:
    console_login(client, session, services, "admin")
    return client


def sent_campaign(session: Session, demo: Program, services: Services) -> int:
    campaign = Campaign(
        program_id=demo.id,
        name="x",
        offer_en="x",
        offer_ru="x",
        segment={},
        status="sent",
        created_by="test",
        created_at=services.clock.now(),
        send_at=services.clock.now(),
        started_at=services.clock.now(),
    )
    session.add(campaign)
    session.commit()
    return campaign.id


def assert_client_error(response: Any, *, json: bool = True) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    if json:
        body = response.get_json()
        assert body["error"]["code"] and body["error"]["message"], body


def test_unicode_digits_in_a_pos_amount_are_refused(client: FlaskClient, till_key: str) -> None:
    auth = {"Authorization": f"Bearer {till_key}"}
    response = client.get("/api/pos/v1/cards/123?amount=²", headers=auth)
    assert_client_error(response)
    assert "amount" in response.get_json()["error"]["fields"]


def test_arabic_indic_digits_in_a_barcode_suffix_are_an_unknown_card(
    client: FlaskClient, till_key: str
) -> None:
    card = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Мария", "phone": "+7 916 555-44-33", "consent": True},
    ).get_json()["card"]
    auth = {"Authorization": f"Bearer {till_key}"}
    digits = "\u0661\u0662\u0663\u0664\u0665\u0666"  # Arabic-Indic 123456
    for code in (f"{card['barcode']}-{digits}", card["barcode"].replace("-", f"{digits}-", 1)):
        response = client.get(f"/api/pos/v1/cards/{code}", headers=auth)
        assert response.status_code == 404, response.get_data()
        assert response.get_json()["error"]["code"] == "unknown_card"


def test_unicode_digits_in_console_rules_are_a_form_error(console: FlaskClient) -> None:
    path = "/console/programs/demo/rules"
    data = {"csrf_token": csrf(console, path), "quiet_start_hour": "²"}
    response = console.post(path, data=data)
    assert response.status_code == 422
    assert "quiet_start_hour" in response.get_data(as_text=True) or "0 to 23" in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "segment",
    [
        {"stages": 5},
        {"tiers": [[1]]},
        {"tiers": 5},
        {"stages": [[1]]},
        {"wallet": [1]},
        {"last_purchase_within_days": 10**12},
        {"no_purchase_for_days": 10**30},
        {"min_spend": 10**30},
        {"store_id": 10**30},
        {"birthday_month": 10**30},
    ],
)
def test_wrong_or_huge_segment_filters_are_refused_by_the_crm_api(
    client: FlaskClient, staff_token: str, segment: dict[str, Any]
) -> None:
    auth = {"Authorization": f"Bearer {staff_token}"}
    for path, body in (
        ("/api/v1/programs/demo/segments/size", {"segment": segment}),
        (
            "/api/v1/programs/demo/campaigns",
            {"name": "n", "offer_en": "o", "offer_ru": "o", "segment": segment},
        ),
    ):
        response = client.post(path, json=body, headers=auth)
        assert_client_error(response)
        assert response.status_code == 422


@pytest.mark.parametrize(
    "query",
    [
        "last_purchase_within_days=1000000",
        "no_purchase_for_days=99999999999999999999",
        "store_id=99999999999999999999999",
        "min_spend=1e30",
        "birthday_month=99999999999999999999",
        "last_purchase_within_days=²",
    ],
)
def test_huge_segment_filters_are_a_form_error_in_the_console(
    console: FlaskClient, query: str
) -> None:
    response = console.get(f"/console/segments?program=demo&{query}")
    assert response.status_code == 422
    # The new-campaign form shows the same message next to the filter.
    response = console.get(f"/console/campaigns/new?program=demo&{query}")
    assert response.status_code == 200 and 'aria-invalid="true"' in response.get_data(as_text=True)
    response = console.get(f"/console/segments/size?program=demo&{query}")
    assert response.status_code == 422


@pytest.mark.parametrize("query", ["to=0001-01-01", "from=0001-01-01", "to=9999-12-31"])
def test_kpis_of_an_absurd_date_are_refused(
    client: FlaskClient, staff_token: str, query: str
) -> None:
    auth = {"Authorization": f"Bearer {staff_token}"}
    response = client.get(f"/api/v1/programs/demo/kpis?{query}", headers=auth)
    assert_client_error(response)


@pytest.mark.parametrize("days", ["abc", "99999999", "0", "-5", "²"])
def test_a_campaign_report_of_nonsense_days_is_refused(
    client: FlaskClient,
    session: Session,
    services: Services,
    demo: Program,
    staff_token: str,
    days: str,
) -> None:
    campaign_id = sent_campaign(session, demo, services)
    auth = {"Authorization": f"Bearer {staff_token}"}
    response = client.get(f"/api/v1/campaigns/{campaign_id}?days={days}", headers=auth)
    assert_client_error(response)


def test_a_24_digit_campaign_id_is_not_found(
    console: FlaskClient, client: FlaskClient, staff_token: str
) -> None:
    big = "1" * 24
    auth = {"Authorization": f"Bearer {staff_token}"}
    assert_client_error(client.get(f"/api/v1/campaigns/{big}", headers=auth))
    for path in (f"/console/campaigns/{big}", f"/console/campaigns/{big}/progress.json"):
        assert console.get(path).status_code == 404


@pytest.mark.parametrize("send_at", ["9999-12-31T23:59:00+00:00", "0001-01-01T00:00:00+00:00"])
def test_a_send_time_in_year_9999_or_1_is_refused(
    client: FlaskClient, staff_token: str, send_at: str
) -> None:
    auth = {"Authorization": f"Bearer {staff_token}"}
    body = {"name": "n", "offer_en": "o", "offer_ru": "o", "send_at": send_at}
    response = client.post("/api/v1/programs/demo/campaigns", json=body, headers=auth)
    assert response.status_code == 422
    assert "send_at" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("send_at", ["9999-12-31T23:59", "0001-01-01T00:00"])
def test_a_console_send_time_in_year_9999_or_1_is_a_form_error(
    console: FlaskClient, send_at: str
) -> None:
    data = {
        "csrf_token": csrf(console, "/console/campaigns/new?program=demo"),
        "program": "demo",
        "name": "n",
        "offer_en": "o",
        "offer_ru": "o",
        "bonus_points": "0",
        "holdout_percent": "10",
        "send": "at",
        "send_at": send_at,
    }
    assert console.post("/console/campaigns", data=data).status_code == 422


@pytest.mark.parametrize(
    "query", ["from=9999-12-25", "from=9999-12-25&to=9999-12-31", "from=0001-01-01&to=0001-01-05"]
)
def test_a_dashboard_of_an_absurd_period_is_a_form_error(console: FlaskClient, query: str) -> None:
    for path in ("/console/dashboard", "/console/dashboard.csv"):
        response = console.get(f"{path}?program=demo&{query}")
        assert 400 <= response.status_code < 500, (path, response.status_code)


def test_a_next_with_line_breaks_on_login_goes_home(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    response = client.get("/console/login?next=/console/%0d%0aSet-Cookie:x=1")
    assert response.status_code in (302, 303)
    assert "\n" not in response.headers["Location"] and "\r" not in response.headers["Location"]


def test_a_next_with_line_breaks_on_the_login_form_goes_home(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    client.post("/console/logout", data={"csrf_token": csrf(client, "/console/")})
    from tests.helpers import CONSOLE_PASSWORD

    response = client.post(
        "/console/login",
        data={
            "csrf_token": csrf(client, "/console/login"),
            "email": "admin.user@example.com",
            "password": CONSOLE_PASSWORD,
            "next": "/console/\r\nX-Evil: 1",
        },
    )
    assert response.status_code == 303
    assert "\n" not in response.headers["Location"]


def test_a_png_claiming_20000_by_20000_is_refused_by_the_image_upload(console: FlaskClient) -> None:
    path = "/console/programs/demo/images"
    response = console.post(
        path,
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf(console, path),
            "kind": "logo",
            "image": (io.BytesIO(tiny_png(20_000, 20_000)), "bomb.png"),
        },
    )
    assert response.status_code == 422


def test_a_png_claiming_20000_by_20000_decodes_to_nothing(
    client: FlaskClient, till_key: str
) -> None:
    response = client.post(
        "/api/pos/v1/decode",
        data=tiny_png(20_000, 20_000),
        content_type="image/png",
        headers={"Authorization": f"Bearer {till_key}"},
    )
    assert response.status_code == 200
    assert response.get_json() == {"code": None}


JSON_ENDPOINTS = [
    "/api/v1/programs/demo/enrollments",
    "/api/v1/programs/demo/segments/size",
    "/api/v1/programs/demo/campaigns",
    "/api/pos/v1/purchases",
    "/api/pos/v1/refunds",
    "/passkit/v1/log",
    "/google/callbacks",
]


@pytest.mark.parametrize("path", JSON_ENDPOINTS)
def test_deeply_nested_json_is_a_bad_request(
    client: FlaskClient, till_key: str, staff_token: str, path: str
) -> None:
    key = till_key if "/pos/" in path else staff_token
    response = client.post(
        path,
        data=NESTED,
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert_client_error(response)


def test_pos_checks_the_terminal_key_before_reading_the_body(client: FlaskClient) -> None:
    for path in ("/api/pos/v1/purchases", "/api/pos/v1/refunds"):
        response = client.post(path, data=NESTED, content_type="application/json")
        assert response.status_code == 401
        response = client.post(path, data=b"not json", content_type="text/plain")
        assert response.status_code == 401
