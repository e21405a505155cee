"""POS API reads: a quote before a purchase is recorded, and the terminal's recent receipts.

Answers carry ``display``: the same figures as text in the request's language
(see display.py).
"""

from __future__ import annotations

from flask import Response, jsonify

from app.services import till_reads
from app.services.till import PurchaseRequest
from app.web.console.texts import local_time
from app.web.contract import operation, parse_body, parse_query
from app.web.db import db, services
from app.web.pos import bp, schemas
from app.web.pos.api import PURCHASE_ERRORS, TERMINAL_ERRORS, terminal
from app.web.pos.display import answer_locale, percent_text, texts


@bp.post("/api/pos/v1/quotes")
@operation(
    "What a purchase with this body would do, recording nothing "
    "(refused with the same error codes as the purchase)",
    body=schemas.QuoteBody,
    ok={200: schemas.QuoteAnswer},
    errors=PURCHASE_ERRORS,
    security="terminal",
)
def quote() -> Response:
    """What POST /purchases would do with this body, recording nothing."""
    t = terminal()
    body = parse_body(schemas.QuoteBody)
    lines = [line.model_dump(exclude_none=True) for line in body.lines or ()] or None
    req = PurchaseRequest(
        body.receipt_id or "", body.amount, body.barcode, body.redeem_points or 0, lines
    )
    locale = answer_locale(t)
    result = till_reads.quote_purchase(db(), services().clock, t, req, locale)
    answer = result.as_json()
    answer["display"] = texts(
        t,
        minor={
            "amount": result.amount,
            "discount_amount": result.discount_amount,
            "points_value": result.points_redeemed * t.program.point_value_minor,
            "amount_due": result.amount_due,
        },
        points={
            "redeemable_max": result.redeemable_max,
            "points_redeemed": result.points_redeemed,
            "points_earned": result.points_earned,
            "balance": result.balance,
            "balance_after": result.balance_after,
        },
    )
    answer["display"]["discount_percent"] = percent_text(result.discount_percent)
    return jsonify(answer)


@bp.get("/api/pos/v1/receipts")
@operation(
    "This terminal's latest receipts, newest first, with what is left to refund",
    query=schemas.ReceiptsQuery,
    ok={200: schemas.ReceiptsAnswer},
    errors=(*TERMINAL_ERRORS, 422),
    security="terminal",
)
def receipts() -> Response:
    t = terminal()
    limit = parse_query(schemas.ReceiptsQuery).limit
    zone = t.program.timezone
    items = []
    for receipt in till_reads.recent_receipts(db(), t, limit):
        item = receipt.as_json()
        item["display"] = texts(
            t,
            minor={
                "amount": receipt.amount,
                "amount_due": receipt.amount_due,
                "refunded": receipt.refunded,
                "refundable": receipt.refundable,
            },
            points={
                "points_redeemed": receipt.points_redeemed,
                "points_earned": receipt.points_earned,
            },
        )
        item["display"]["created_at"] = local_time(receipt.created_at, zone)
        items.append(item)
    return jsonify({"receipts": items, "timezone": zone})
