"""POS quotes (what a purchase would do, recording nothing) and the terminal's recent receipts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.clock import FixedClock
from app.loyalty.models import Card, LedgerEntry, Program
from app.services import terminals
from app.till.models import Receipt
from tests.web.test_pos_api import Till, give_points, pass_version

NBSP = "\u00a0"


@pytest.fixture
def till(client: FlaskClient, session: Session, services: Services, demo: Program) -> Till:
    _, key = terminals.add_terminal(session, services.clock, demo, "Till 1")
    session.commit()
    return Till(client, key)


@pytest.fixture
def card(client: FlaskClient) -> dict[str, str]:
    body = client.post(
        "/api/v1/programs/demo/enrollments",
        json={"name": "Мария Иванова", "phone": "+7 916 555-44-33", "consent": True},
    ).json
    assert body is not None
    return dict(body["card"])


def counts(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Receipt)) or 0,
        session.scalar(select(func.count()).select_from(LedgerEntry)) or 0,
    )


def test_quote_and_receipts_need_a_terminal_key(client: FlaskClient, till: Till) -> None:
    for headers in ({}, {"Authorization": "Bearer wpt_0000_nope"}):
        quote = client.post("/api/pos/v1/quotes", json={"amount": 100}, headers=headers)
        listed = client.get("/api/pos/v1/receipts", headers=headers)
        assert quote.status_code == listed.status_code == 401
        assert quote.json["error"]["code"] == "unauthorized"


def test_a_quote_tells_what_the_purchase_will_do_and_records_nothing(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    give_points(session, services, card["number"], 500)
    before = (counts(session), pass_version(session, card["number"]))
    body = {"amount": 133_800, "barcode": card["barcode"], "redeem_points": 200}
    quote = till.post("/quotes", body)
    assert quote.status_code == 200
    # 1 338.00 ₽ - 7 % (93.66) = 1 244.34; 30 % of it is 373 points; 200 points pay 200.00.
    assert quote.json["discount_amount"] == 9_366
    assert quote.json["redeemable_max"] == 373
    assert quote.json["amount_due"] == 104_434
    assert quote.json["points_earned"] == 52
    assert quote.json["balance_after"] == 500 - 200 + 52
    assert quote.json["member_name"] == "Мария Иванова" and quote.json["scanned"] is True
    assert quote.json["display"]["amount"] == f"1{NBSP}338,00{NBSP}₽"
    assert quote.json["display"]["amount_due"] == f"1{NBSP}044,34{NBSP}₽"
    assert quote.json["display"]["discount_percent"] == f"7{NBSP}%"
    assert (counts(session), pass_version(session, card["number"])) == before

    # Asked again it answers the same; the purchase then does exactly that.
    assert till.post("/quotes", body).json == quote.json
    sale = till.post("/purchases", {"receipt_id": "Q-1", **body}).json
    for name in ("discount_amount", "points_redeemed", "amount_due", "points_earned"):
        assert sale[name] == quote.json[name]
    assert sale["balance"] == quote.json["balance_after"]


def test_a_quote_in_english_formats_money_the_english_way(till: Till, card: dict[str, str]) -> None:
    quote = till.client.post(
        "/api/pos/v1/quotes",
        json={"amount": 133_800, "barcode": card["barcode"]},
        headers={**till.headers, "Accept-Language": "en-GB,en;q=0.9"},
    ).json
    assert quote["display"]["amount"] == f"1,338.00{NBSP}₽"
    assert quote["tier_name"] == "Friend"


def test_points_are_offered_only_when_the_purchase_would_take_them(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    give_points(session, services, card["number"], 500)
    typed = till.post("/quotes", {"amount": 100_000, "barcode": card["number"]}).json
    assert typed["scanned"] is False and typed["redeemable_max"] == 0
    no_card = till.post("/quotes", {"amount": 100_000}).json
    assert no_card["redeemable_max"] == 0 and no_card["card_number"] is None
    assert no_card["amount_due"] == 100_000 and no_card["balance"] is None

    # Refused exactly as the purchase would refuse, with the same codes.
    refusals = {
        "barcode_required": {"amount": 100_000, "barcode": card["number"], "redeem_points": 1},
        "redeem_limit_exceeded": {
            "amount": 100_000,
            "barcode": card["barcode"],
            "redeem_points": 280,
        },
        "insufficient_points": {
            "amount": 10_000_000,
            "barcode": card["barcode"],
            "redeem_points": 501,
        },
        "unknown_card": {"amount": 100, "barcode": "1234567890123"},
    }
    for code, body in refusals.items():
        quoted = till.post("/quotes", body)
        bought = till.post("/purchases", {"receipt_id": f"X-{code}", **body})
        assert quoted.status_code == bought.status_code
        assert quoted.json["error"] == bought.json["error"]
        assert quoted.json["error"]["code"] == code
    assert counts(session)[0] == 0


def test_bad_quote_bodies_name_every_bad_field(till: Till) -> None:
    bad = till.post("/quotes", {"amount": 0, "redeem_points": -1, "barcode": 5, "tip": 1})
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"tip", "amount", "redeem_points", "barcode"}
    bad = till.post("/quotes", {"amount": "10", "redeem_points": -1, "barcode": 5})
    assert set(bad.json["error"]["fields"]) == {"amount", "redeem_points", "barcode"}
    assert till.post("/quotes", {"receipt_id": "bad id!", "amount": 1}).status_code == 422
    assert till.client.post(
        "/api/pos/v1/quotes", data="amount=1", headers=till.headers
    ).status_code in (400, 415)


def test_recent_receipts_are_this_terminals_newest_first_with_what_is_left_to_refund(
    client: FlaskClient,
    till: Till,
    card: dict[str, str],
    session: Session,
    services: Services,
    clock: FixedClock,
) -> None:
    for i, amount in enumerate((10_000, 20_000, 30_000)):
        till.post(
            "/purchases", {"receipt_id": f"R-{i}", "amount": amount, "barcode": card["barcode"]}
        )
        clock.advance(timedelta(minutes=1))
    # A replay changes nothing; another terminal's receipts are not listed.
    till.post("/purchases", {"receipt_id": "R-0", "amount": 10_000, "barcode": card["barcode"]})
    demo = session.scalars(select(Program)).one()
    _, key = terminals.add_terminal(session, services.clock, demo, "Till 2")
    session.commit()
    Till(client, key).post("/purchases", {"receipt_id": "OTHER", "amount": 5_000})
    till.post("/refunds", {"receipt_id": "R-1", "refund_id": "F-1", "amount": 5_000})

    listed = till.get("/receipts")
    assert listed.status_code == 200
    receipts = listed.json["receipts"]
    assert [r["receipt_id"] for r in receipts] == ["R-2", "R-1", "R-0"]
    assert (receipts[1]["refunded"], receipts[1]["refundable"]) == (5_000, 15_000)
    assert receipts[1]["display"]["refundable"] == f"150,00{NBSP}₽"
    assert receipts[0]["card_number"] == card["number"]
    assert receipts[0]["amount_due"] == 27_900
    # Local time of the program (Moscow), not UTC.
    assert receipts[2]["display"]["created_at"] == "2026-03-14 12:30"  # 09:30 UTC
    assert receipts[2]["created_at"].startswith("2026-03-14T09:30:00")
    assert listed.json["timezone"] == "Europe/Moscow"
    assert [r["receipt_id"] for r in till.get("/receipts?limit=2").json["receipts"]] == [
        "R-2",
        "R-1",
    ]


def test_recent_receipts_limit_is_checked(till: Till) -> None:
    for raw in ("0", "51", "abc", "-1", "\u0661\u0660", "1.5", ""):
        response = till.get(f"/receipts?limit={raw}")
        assert response.status_code == 422, raw
        assert "limit" in response.json["error"]["fields"]
    assert till.get("/receipts?limit=50").status_code == 200
    assert till.get("/receipts").json == {"receipts": [], "timezone": "Europe/Moscow"}


def test_card_row_is_untouched_by_quotes(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    give_points(session, services, card["number"], 10)
    till.post("/quotes", {"amount": 1_000, "barcode": card["barcode"], "redeem_points": 3})
    session.expire_all()
    assert session.scalars(select(Card)).one().balance == 10


def test_a_quote_does_not_spend_a_rotating_code_but_knows_a_spent_one(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    from app.loyalty import totp

    found = session.scalars(select(Card)).one()
    found.program.rotating_barcode = True
    session.commit()
    assert found.totp_secret
    now = services.clock.now().timestamp()
    code = f"{card['barcode']}-{totp.code_at(found.totp_secret, totp.step_of(now))}"
    body = {"amount": 10_000, "barcode": code}
    assert till.post("/quotes", body).status_code == 200
    assert till.post("/quotes", body).status_code == 200
    assert till.post("/purchases", {"receipt_id": "T-1", **body}).status_code == 201
    spent = till.post("/quotes", body)
    assert spent.status_code == 409 and spent.json["error"]["code"] == "code_already_used"
