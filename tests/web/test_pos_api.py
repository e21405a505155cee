"""The POS API as till software uses it: Bearer terminal keys, idempotent receipts."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.loyalty.models import Card, LedgerEntry, Program
from app.passes.models import WalletPass
from app.services import cards, terminals
from app.till.models import Receipt


class Till:
    def __init__(self, client: FlaskClient, key: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {key}"}

    def get(self, path: str) -> Any:
        return self.client.get(f"/api/pos/v1{path}", headers=self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(f"/api/pos/v1{path}", json=body, headers=self.headers)


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


def give_points(session: Session, services: Services, number: str, points: int) -> None:
    from app.loyalty import ledger

    found = session.scalars(select(Card).where(Card.number == number)).one()
    ledger.credit(
        session,
        found,
        points=points,
        kind="adjust",
        now=services.clock.now(),
        valid_days=None,
        reference="test",
    )
    session.commit()


def pass_version(session: Session, number: str) -> int:
    return (
        session.scalar(
            select(WalletPass.version)
            .join(Card, Card.id == WalletPass.card_id)
            .where(Card.number == number)
        )
        or 0
    )


def test_requests_without_a_valid_key_are_refused(
    client: FlaskClient, session: Session, services: Services, till: Till, card: dict[str, str]
) -> None:
    for headers in ({}, {"Authorization": "Bearer wpt_0000_nope"}, {"Authorization": "Basic x"}):
        response = client.get(f"/api/pos/v1/cards/{card['barcode']}", headers=headers)
        assert response.status_code == 401
        assert response.json["error"]["code"] == "unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert till.get(f"/cards/{card['barcode']}").status_code == 200
    demo = session.scalars(select(Program)).one()
    terminals.revoke(session, services.clock, demo, "Till 1")
    session.commit()
    assert till.get(f"/cards/{card['barcode']}").status_code == 401


def test_lookup_by_scanned_code_or_typed_number(till: Till, card: dict[str, str]) -> None:
    scanned = till.get(f"/cards/{card['barcode']}?amount=100000")
    assert scanned.status_code == 200
    assert scanned.json == {
        "card_number": card["number"],
        "member_name": "Мария Иванова",
        "tier": "base",
        "tier_name": "Друг",
        "discount_percent": 7.0,
        "balance": 0,
        "point_value": 100,
        "redeemable_max": 0,
        # The same figures as the page shows them, in the program's language.
        "display": {"balance": "0", "discount_percent": "7\u00a0%"},
    }
    spaced = " ".join(card["number"][i : i + 4] for i in range(0, 13, 4))
    assert till.get(f"/cards/{spaced}").json["card_number"] == card["number"]


def test_unknown_forged_and_blocked_cards(
    till: Till, card: dict[str, str], session: Session
) -> None:
    number, secret = card["barcode"].split("-")
    forged = (
        f"{number}-{'A' * len(secret)}" if secret != "A" * len(secret) else f"{number}-{'B' * 10}"
    )
    for code in (forged, "1234567890123", "not-a-card"):
        response = till.get(f"/cards/{code}")
        assert response.status_code == 404
        assert response.json["error"]["code"] == "unknown_card"
    found = session.scalars(select(Card)).one()
    found.status = "blocked"
    session.commit()
    blocked = till.get(f"/cards/{card['barcode']}")
    assert blocked.status_code == 422 and blocked.json["error"]["code"] == "card_blocked"


def test_a_purchase_gives_the_tier_discount_earns_points_and_updates_the_pass(
    till: Till, card: dict[str, str], session: Session
) -> None:
    before = pass_version(session, card["number"])
    response = till.post(
        "/purchases",
        {
            "receipt_id": "R-1",
            "amount": 250_000,
            "barcode": card["barcode"],
            "lines": [
                {
                    "sku": "TSH-01",
                    "name": "T-shirt",
                    "quantity": 2,
                    "price": 125_000,
                    "size": "110",
                    "category": "tops",
                }
            ],
        },
    )
    assert response.status_code == 201
    assert response.json == {
        "receipt_id": "R-1",
        "card_number": card["number"],
        "discount_amount": 17_500,
        "points_redeemed": 0,
        "points_earned": 116,  # 5 % of 2 325.00 ₽
        "balance": 116,
        "amount_due": 232_500,
        # As the console writes money in Russian: "2 325,00 ₽".
        "display": {
            "discount_amount": "175,00\u00a0₽",
            "points_value": "0,00\u00a0₽",
            "amount_due": "2\u00a0325,00\u00a0₽",
            "points_redeemed": "0",
            "points_earned": "116",
            "balance": "116",
        },
    }
    assert pass_version(session, card["number"]) == before + 1
    receipt = session.scalars(select(Receipt)).one()
    assert receipt.lines and receipt.lines[0]["size"] == "110"


def test_large_family_tier_gets_fifteen_percent(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    found = session.scalars(select(Card)).one()
    cards.set_tier(session, services.clock, found, "large_family", "3 children, certificate seen")
    session.commit()
    assert till.get(f"/cards/{card['barcode']}").json["discount_percent"] == 15.0
    result = till.post(
        "/purchases", {"receipt_id": "R-2", "amount": 100_000, "barcode": card["barcode"]}
    ).json
    assert result["discount_amount"] == 15_000


def test_points_pay_part_of_a_purchase_within_the_share_and_the_balance(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    give_points(session, services, card["number"], 500)
    lookup = till.get(f"/cards/{card['barcode']}?amount=100000").json
    assert lookup["redeemable_max"] == 279  # 30 % of 930.00 ₽
    too_many = till.post(
        "/purchases",
        {"receipt_id": "R-3", "amount": 100_000, "barcode": card["barcode"], "redeem_points": 280},
    )
    assert too_many.status_code == 422
    assert too_many.json["error"] == {
        "code": "redeem_limit_exceeded",
        "message": "at most 279 points can pay for this purchase",
        "maximum": 279,
    }
    big = till.post(
        "/purchases",
        {
            "receipt_id": "R-4",
            "amount": 10_000_000,
            "barcode": card["barcode"],
            "redeem_points": 501,
        },
    )
    assert big.status_code == 409 and big.json["error"]["code"] == "insufficient_points"
    assert big.json["error"]["balance"] == 500
    ok = till.post(
        "/purchases",
        {"receipt_id": "R-5", "amount": 100_000, "barcode": card["barcode"], "redeem_points": 279},
    )
    assert ok.status_code == 201
    assert ok.json["amount_due"] == 93_000 - 27_900
    assert ok.json["balance"] == 500 - 279 + ok.json["points_earned"]
    assert session.scalar(select(func.count()).select_from(Receipt)) == 1


def test_spending_points_needs_the_scanned_code(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    give_points(session, services, card["number"], 100)
    typed = till.post(
        "/purchases",
        {"receipt_id": "R-6", "amount": 10_000, "barcode": card["number"], "redeem_points": 10},
    )
    assert typed.status_code == 422 and typed.json["error"]["code"] == "barcode_required"
    earn_only = till.post(
        "/purchases", {"receipt_id": "R-7", "amount": 10_000, "barcode": card["number"]}
    )
    assert earn_only.status_code == 201


def test_receipts_without_a_card_are_kept_for_analytics(till: Till, session: Session) -> None:
    response = till.post("/purchases", {"receipt_id": "NC-1", "amount": 99_900})
    assert response.status_code == 201
    assert response.json["discount_amount"] == 0 and response.json["balance"] is None
    assert response.json["amount_due"] == 99_900 and response.json["card_number"] is None
    receipt = session.scalars(select(Receipt)).one()
    assert receipt.card_id is None


def test_a_replayed_receipt_returns_the_original_result_and_changes_nothing(
    till: Till, card: dict[str, str], session: Session
) -> None:
    body = {"receipt_id": "R-8", "amount": 50_000, "barcode": card["barcode"]}
    first = till.post("/purchases", body)
    again = till.post("/purchases", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    conflict = till.post("/purchases", {**body, "amount": 50_001})
    assert conflict.status_code == 409 and conflict.json["error"]["code"] == "duplicate_conflict"
    assert session.scalar(select(func.count()).select_from(Receipt)) == 1
    assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 1


def test_another_terminal_may_reuse_a_receipt_id(
    client: FlaskClient, till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    demo = session.scalars(select(Program)).one()
    _, key = terminals.add_terminal(session, services.clock, demo, "Till 2")
    session.commit()
    other = Till(client, key)
    body = {"receipt_id": "SAME", "amount": 10_000}
    assert till.post("/purchases", body).status_code == 201
    assert other.post("/purchases", body).status_code == 201


def test_refund_of_a_partly_redeemed_purchase_is_proportional(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    give_points(session, services, card["number"], 300)
    sale = till.post(
        "/purchases",
        {"receipt_id": "R-9", "amount": 100_000, "barcode": card["barcode"], "redeem_points": 200},
    ).json
    # 1 000.00 ₽ - 7 % = 930.00; 200 points pay 200.00; 730.00 paid; 36 points earned.
    assert (sale["amount_due"], sale["points_earned"], sale["balance"]) == (73_000, 36, 136)
    half = till.post("/refunds", {"receipt_id": "R-9", "refund_id": "F-1", "amount": 50_000})
    assert half.status_code == 201
    assert half.json == {
        "refund_id": "F-1",
        "receipt_id": "R-9",
        "amount": 50_000,
        "money_back": 36_500,
        "points_returned": 100,
        "points_taken_back": 18,
        "points_shortfall": 0,
        "balance": 218,
        "display": {
            "amount": "500,00\u00a0₽",
            "money_back": "365,00\u00a0₽",
            "points_returned": "100",
            "points_taken_back": "18",
            "points_shortfall": "0",
            "balance": "218",
        },
    }
    assert (
        till.post("/refunds", {"receipt_id": "R-9", "refund_id": "F-1", "amount": 50_000}).json
        == half.json
    )
    rest = till.post("/refunds", {"receipt_id": "R-9", "refund_id": "F-2"}).json
    assert (
        rest["amount"],
        rest["money_back"],
        rest["points_returned"],
        rest["points_taken_back"],
    ) == (50_000, 36_500, 100, 18)
    assert rest["balance"] == 300
    over = till.post("/refunds", {"receipt_id": "R-9", "refund_id": "F-3", "amount": 1})
    assert over.status_code == 422 and over.json["error"] == {
        "code": "refund_exceeds_receipt",
        "message": "only 0 of this receipt's amount is left to refund",
        "remaining": 0,
    }
    unknown = till.post("/refunds", {"receipt_id": "nope", "refund_id": "F-4"})
    assert unknown.status_code == 404 and unknown.json["error"]["code"] == "unknown_receipt"


def test_refund_after_the_earned_points_were_spent_records_the_shortfall(
    till: Till, card: dict[str, str]
) -> None:
    sale = till.post(
        "/purchases", {"receipt_id": "R-10", "amount": 100_000, "barcode": card["barcode"]}
    ).json
    assert sale["points_earned"] == 46
    spend = till.post(
        "/purchases",
        {"receipt_id": "R-11", "amount": 100_000, "barcode": card["barcode"], "redeem_points": 46},
    ).json
    refund = till.post("/refunds", {"receipt_id": "R-10", "refund_id": "F-5"}).json
    assert refund["points_taken_back"] == spend["balance"]
    assert refund["points_shortfall"] == 46 - spend["balance"]
    assert refund["balance"] == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"amount": 100}, {"receipt_id"}),
        ({"receipt_id": "has space", "amount": 100}, {"receipt_id"}),
        ({"receipt_id": "A", "amount": 0}, {"amount"}),
        ({"receipt_id": "A", "amount": 12.5}, {"amount"}),
        ({"receipt_id": "A", "amount": "100"}, {"amount"}),
        ({"receipt_id": "A", "amount": True}, {"amount"}),
        ({"receipt_id": "A", "amount": 100, "redeem_points": -1}, {"redeem_points"}),
        ({"receipt_id": "A", "amount": 100, "lines": [{"price": -1}]}, {"lines[0].price"}),
        ({"receipt_id": "A", "amount": 100, "lines": [{"colour": "red"}]}, {"lines[0].colour"}),
        ({"receipt_id": "A", "amount": 100, "discount": 5}, {"discount"}),
    ],
)
def test_bad_purchase_bodies_name_every_bad_field_and_store_nothing(
    till: Till, session: Session, body: dict[str, Any], fields: set[str]
) -> None:
    response = till.post("/purchases", body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_failed"
    assert set(response.json["error"]["fields"]) == fields
    assert session.scalar(select(func.count()).select_from(Receipt)) == 0


def test_a_camera_frame_is_decoded_for_browsers_without_barcode_detector(
    till: Till, card: dict[str, str]
) -> None:
    from app.posters.qrcodes import qr_png

    frame = qr_png(card["barcode"])
    response = till.client.post(
        "/api/pos/v1/decode", data=frame, content_type="image/png", headers=till.headers
    )
    assert response.status_code == 200 and response.json == {"code": card["barcode"]}
    blank = till.client.post(
        "/api/pos/v1/decode", data=b"not an image", content_type="image/png", headers=till.headers
    )
    assert blank.json == {"code": None}
    wrong = till.client.post(
        "/api/pos/v1/decode", data=frame, content_type="text/plain", headers=till.headers
    )
    assert wrong.status_code == 400


def test_a_rotating_google_code_pays_once_and_expires(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    from app.loyalty import totp

    found = session.scalars(select(Card)).one()
    found.program.rotating_barcode = True
    session.commit()
    assert found.totp_secret
    now = services.clock.now().timestamp()
    code = f"{card['barcode']}-{totp.code_at(found.totp_secret, totp.step_of(now))}"
    assert till.get(f"/cards/{code}").status_code == 200  # looking up does not spend it
    first = till.post("/purchases", {"receipt_id": "T-1", "amount": 10_000, "barcode": code})
    assert first.status_code == 201
    replay = till.post("/purchases", {"receipt_id": "T-2", "amount": 10_000, "barcode": code})
    assert replay.status_code == 409 and replay.json["error"]["code"] == "code_already_used"
    assert (
        till.post(
            "/purchases", {"receipt_id": "T-1", "amount": 10_000, "barcode": code}
        ).status_code
        == 200
    )
    old = f"{card['barcode']}-{totp.code_at(found.totp_secret, totp.step_of(now) - 2)}"
    expired = till.post("/purchases", {"receipt_id": "T-3", "amount": 10_000, "barcode": old})
    assert expired.status_code == 422 and expired.json["error"]["code"] == "code_expired"
    # The Apple pass (no rotating code) still works with its static code.
    assert (
        till.post(
            "/purchases", {"receipt_id": "T-4", "amount": 10_000, "barcode": card["barcode"]}
        ).status_code
        == 201
    )


def test_a_card_issued_with_a_rotating_google_code_spends_only_with_the_live_code(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    """Finding 7 of issue 17: every rotating value carries the static ``number-secret``,
    so a screenshot of the Google card must not become a permanent way to spend."""
    from app.loyalty import totp
    from app.services import google_wallet

    found = session.scalars(select(Card)).one()
    found.program.rotating_barcode = True
    wallet_pass = cards.wallet_pass_of(session, found)
    google_wallet.record_object(
        session, services.clock, wallet_pass.id, "issuer.demo-card", wallet_pass.version
    )
    session.commit()
    give_points(session, services, card["number"], 500)
    static = till.post(
        "/purchases",
        {"receipt_id": "G-1", "amount": 10_000, "barcode": card["barcode"], "redeem_points": 10},
    )
    assert static.status_code == 422
    assert static.json["error"]["code"] == "rotating_code_required"
    assert "rotating" in static.json["error"]["message"]
    assert session.scalar(select(func.count()).select_from(Receipt)) == 0
    # Earning by the static code or the printed number works as before.
    for receipt_id, code in (("G-2", card["barcode"]), ("G-3", card["number"])):
        earned = till.post(
            "/purchases", {"receipt_id": receipt_id, "amount": 10_000, "barcode": code}
        )
        assert earned.status_code == 201 and earned.json["points_earned"] > 0
    now = services.clock.now().timestamp()
    assert found.totp_secret
    previous = f"{card['barcode']}-{totp.code_at(found.totp_secret, totp.step_of(now) - 1)}"
    live = till.post(
        "/purchases",
        {"receipt_id": "G-4", "amount": 10_000, "barcode": previous, "redeem_points": 10},
    )
    assert live.status_code == 201 and live.json["points_redeemed"] == 10


def test_an_apple_only_card_of_a_rotating_program_still_spends_with_its_static_code(
    till: Till, card: dict[str, str], session: Session, services: Services
) -> None:
    found = session.scalars(select(Card)).one()
    found.program.rotating_barcode = True  # but this card never went to Google
    session.commit()
    give_points(session, services, card["number"], 500)
    spent = till.post(
        "/purchases",
        {"receipt_id": "A-1", "amount": 10_000, "barcode": card["barcode"], "redeem_points": 10},
    )
    assert spent.status_code == 201 and spent.json["points_redeemed"] == 10
