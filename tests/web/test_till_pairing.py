"""Issue 18, item 2: a till is paired by a QR code shown in the console (a one-time code,
valid ten minutes, rate-limited, never the key); it belongs to a store, so its receipts
count for that store; admins list and revoke till keys in the console."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Program
from app.posters.decode import decode_barcode
from app.staff.models import AuditEntry
from app.till.models import Receipt, Terminal, TerminalPairing
from tests.helpers import console_login, fixed_clock


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def start(client: FlaskClient, name: str = "Касса 1", store: str = "msk-tverskaya") -> str:
    """Ask the console for a pairing QR code; returns the code the QR code carries."""
    path = "/console/programs/demo/tills"
    page = client.post(
        path + "/pair",
        data={"csrf_token": csrf(client, path), "store": store, "name": name},
        headers={"Accept-Language": "ru"},
    )
    assert page.status_code == 200, page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    png = re.search(r'src="data:image/png;base64,([^"]+)"', html).group(1)  # type: ignore[union-attr]
    import base64

    link = decode_barcode(base64.b64decode(png))
    assert link is not None and link.startswith("https://") and "/pos#pair=" in link
    code = link.split("#pair=")[1]
    shown = re.search(r'id="pairing-code">([^<]+)<', html).group(1)  # type: ignore[union-attr]
    assert shown.replace("-", "") == code  # the same code, to type when there is no camera
    return code


def redeem(client: FlaskClient, code: str, addr: str = "10.0.0.1") -> tuple[int, dict]:  # type: ignore[type-arg]
    response = client.post(
        "/api/pos/v1/pair", json={"code": code}, environ_base={"REMOTE_ADDR": addr}
    )
    return response.status_code, response.get_json()


def test_a_till_pairs_by_the_qr_code_once_and_records_receipts_for_its_store(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    code = start(client)
    pairing = session.scalars(select(TerminalPairing)).one()
    assert code not in pairing.code_hash  # only a hash is kept
    status, body = redeem(client, code.lower()[:4] + "-" + code[4:])  # as typed: any case, dashes
    assert status == 201, body
    key = body["key"]
    assert key.startswith("wpt_") and body["store"] == "msk-tverskaya" and body["name"] == "Касса 1"
    me = client.get("/api/pos/v1/terminal", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.get_json()["store"] == "msk-tverskaya"
    # Single use: the same code again (another phone) gets nothing.
    again, refused = redeem(client, code, "10.0.0.2")
    assert again == 422 and "code" in refused["error"]["fields"]
    # Receipts of the paired till carry its store (the per-store table counts them).
    sale = client.post(
        "/api/pos/v1/purchases",
        json={"receipt_id": "r-1", "amount": 100000},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert sale.status_code == 201, sale.get_json()
    receipt = session.scalars(select(Receipt).where(Receipt.receipt_id == "r-1")).one()
    store = next(s for s in demo.stores if s.code == "msk-tverskaya")
    assert receipt.store_id == store.id
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "terminal.pairing_started" in actions and "terminal.paired" in actions
    listing = client.get("/console/programs/demo/tills").get_data(as_text=True)
    assert 'data-till="Касса 1"' in listing and key not in listing


def test_an_expired_or_wrong_code_pairs_nothing(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    code = start(client)
    fixed_clock(services).advance(minutes=10, seconds=1)
    status, body = redeem(client, code)
    assert status == 422 and "expired" in body["error"]["fields"]["code"]
    for wrong in ("ABCDEFGHJK", "short", "x" * 41, "ЖЖЖЖЖЖЖЖЖЖ"):
        assert redeem(client, wrong)[0] == 422, wrong
    assert client.post("/api/pos/v1/pair", json={"code": 5}).status_code == 422
    assert client.post("/api/pos/v1/pair", json={"code": code, "x": 1}).status_code == 422
    assert session.scalars(select(Terminal)).all() == []


def test_guessing_codes_is_rate_limited_per_address(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    statuses = [redeem(client, "ABCDEFGHJK", "10.9.9.9")[0] for _ in range(11)]
    assert statuses[:10] == [422] * 10 and statuses[10] == 429
    assert redeem(client, "ABCDEFGHJK", "10.9.9.8")[0] == 422  # another address is not held


def test_pairing_form_errors_and_revoking_a_key(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    path = "/console/programs/demo/tills"
    bad = client.post(
        path + "/pair",
        data={"csrf_token": csrf(client, path), "store": "nowhere", "name": ""},
        headers={"Accept-Language": "ru"},
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="store-error"' in html and 'id="name-error"' in html
    assert "Выберите магазин" in html
    _status, body = redeem(client, start(client))
    till = session.scalars(select(Terminal)).one()
    revoked = client.post(f"{path}/{till.id}/revoke", data={"csrf_token": csrf(client, path)})
    assert revoked.status_code == 303
    me = client.get("/api/pos/v1/terminal", headers={"Authorization": f"Bearer {body['key']}"})
    assert me.status_code == 401
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "terminal.revoked")).one()
    assert entry.actor == "admin.user@example.com"
    assert (
        client.post(f"{path}/999999/revoke", data={"csrf_token": csrf(client, path)}).status_code
        == 404
    )


@pytest.mark.parametrize("role", ["marketer", "store_manager"])
def test_only_admins_pair_and_revoke_tills(
    client: FlaskClient, session: Session, services: Services, demo: Program, role: str
) -> None:
    console_login(client, session, services, role)
    token = csrf(client, "/console/")
    assert client.get("/console/programs/demo/tills").status_code == 403
    pair = client.post(
        "/console/programs/demo/tills/pair",
        data={"csrf_token": token, "store": "msk-tverskaya", "name": "X"},
    )
    assert pair.status_code == 403
    assert (
        client.post("/console/programs/demo/tills/1/revoke", data={"csrf_token": token}).status_code
        == 403
    )
    assert session.scalars(select(TerminalPairing)).all() == []


def test_stores_page_takes_a_time_zone_and_no_coordinates(
    client: FlaskClient, session: Session, services: Services, demo: Program
) -> None:
    console_login(client, session, services, "admin")
    path = "/console/programs/demo/stores"
    form = {"code": "ekb-1", "name": "Кроха Екатеринбург", "address": "Ленина 1"}
    bad = client.post(
        path,
        data={"csrf_token": csrf(client, path), **form, "timezone": "Ekb", "latitude": "56.8"},
        headers={"Accept-Language": "ru"},
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Пусто или часовой пояс" in html and 'id="longitude-error"' in html
    added = client.post(
        path, data={"csrf_token": csrf(client, path), **form, "timezone": "Asia/Yekaterinburg"}
    )
    assert added.status_code == 303
    session.expire_all()
    store = next(s for s in demo.stores if s.code == "ekb-1")
    assert (store.timezone, store.latitude, store.longitude) == ("Asia/Yekaterinburg", None, None)
    # A store whose till is active cannot be removed (its receipts would lose their store).
    redeem(client, start(client, store="ekb-1"))
    refused = client.post(f"{path}/ekb-1/remove", data={"csrf_token": csrf(client, path)})
    assert refused.status_code == 409
    session.expire_all()
    assert any(s.code == "ekb-1" for s in demo.stores)
