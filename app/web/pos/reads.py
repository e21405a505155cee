"""POS API reads: a quote before a purchase is recorded, and the terminal's recent receipts.

Answers carry ``display``: the same figures as text in the request's language
(see display.py).
"""

from __future__ import annotations

import re

from flask import Response, jsonify, request

from app.loyalty.errors import ValidationError
from app.services import till_reads
from app.services.till import PurchaseRequest
from app.web.api.views import json_object
from app.web.console.texts import local_time
from app.web.db import db, services
from app.web.pos import bp
from app.web.pos import validation as v
from app.web.pos.api import terminal
from app.web.pos.display import answer_locale, percent_text, texts

_LIMIT = re.compile(r"[0-9]{1,3}", re.ASCII)
DEFAULT_RECENT = 10


@bp.post("/api/pos/v1/quotes")
def quote() -> Response:
    """What POST /purchases would do with this body, recording nothing."""
    t = terminal()
    body = json_object()
    v.check_fields(body, {"receipt_id", "amount", "barcode", "redeem_points", "lines"})
    errors: dict[str, str] = {}
    if "receipt_id" in body:
        v.text_id(body, "receipt_id", errors)
    amount = v.amount(body, "amount", errors, required=True)
    redeem = v.amount(body, "redeem_points", errors, required=False, minimum=0) or 0
    barcode = body.get("barcode")
    if barcode is not None and (not isinstance(barcode, str) or not 0 < len(barcode) <= 64):
        errors["barcode"] = "must be the scanned card code (text up to 64 characters)"
    lines = v.lines(body, errors)
    if errors:
        raise ValidationError(errors)
    assert amount is not None
    req = PurchaseRequest(str(body.get("receipt_id", "")), amount, barcode, redeem, lines)
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
def receipts() -> Response:
    """This terminal's latest receipts, newest first (``limit``: 1 to 50, default 10)."""
    t = terminal()
    raw = request.args.get("limit")
    limit = DEFAULT_RECENT
    if raw is not None:
        if not _LIMIT.fullmatch(raw) or not 1 <= int(raw) <= till_reads.MAX_RECENT:
            raise ValidationError(
                {"limit": f"must be a whole number from 1 to {till_reads.MAX_RECENT}"}
            )
        limit = int(raw)
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
