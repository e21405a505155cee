"""POS API (contract): card lookup, purchases, refunds, for till software and the cashier page."""

from __future__ import annotations

import re

from flask import Response, g, jsonify, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from app.bounds import whole_number
from app.loyalty.errors import ValidationError
from app.posters.decode import decode_barcode
from app.services import terminals, till, till_pairing
from app.till.models import Terminal
from app.web.api.views import json_object
from app.web.db import db, services
from app.web.pos import bp, display
from app.web.pos import validation as v
from app.web.shared import enforce_rate_limit

_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$")
DECODE_MAX_BYTES = 2 * 1024 * 1024


def terminal(*, touch: bool = False) -> Terminal:
    """The terminal the request's Bearer key belongs to (401 otherwise)."""
    found: Terminal | None = g.get("terminal")
    if found is None:
        match = _BEARER.match(request.headers.get("Authorization", ""))
        key = match.group(1) if match else None
        if terminals.is_terminal_key(key):
            assert key is not None
            # Per terminal: its key (kept only as a keyed hash), checked before the
            # request's transaction opens.
            enforce_rate_limit("pos", key)
        found = terminals.authenticate(db(), services().clock, key, touch=touch)
        g.terminal = found
    return found


@bp.post("/api/pos/v1/pair")
def pair() -> tuple[Response, int]:
    """Trade a pairing code (the console's QR code) for a new till's key, once."""
    enforce_rate_limit("pos_pair")  # per address, before anything is read
    body = json_object()
    v.check_fields(body, {"code"})
    code = body.get("code")
    if not isinstance(code, str) or len(code) > 40:
        raise ValidationError({"code": till_pairing.WRONG})
    paired = till_pairing.redeem(db(), services().clock, code)
    t = paired.terminal
    response = jsonify(
        {
            "key": paired.key,
            "name": t.name,
            "program": t.program.slug,
            "store": t.store.code if t.store else None,
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@bp.get("/api/pos/v1/terminal")
def whoami() -> Response:
    t = terminal()
    return jsonify(
        {
            "name": t.name,
            "program": t.program.slug,
            "brand": t.program.brand_name,
            "currency": t.program.currency,
            "store": t.store.code if t.store else None,
        }
    )


@bp.get("/api/pos/v1/cards/<path:code>")
def lookup(code: str) -> Response:
    t = terminal()
    raw_amount = request.args.get("amount")
    amount = None
    if raw_amount is not None:
        amount = whole_number(raw_amount)
        if amount is None or not 0 < amount <= v.MAX_AMOUNT:
            raise ValidationError({"amount": "must be a whole number of minor units above 0"})
    locale = request.accept_languages.best_match(["ru", "en"]) or t.program.default_locale
    view = till.view_card(db(), services().clock, t.program, code, amount, locale)
    body = {
        "card_number": view.card_number,
        "member_name": view.member_name,
        "tier": view.tier,
        "tier_name": view.tier_name,
        "discount_percent": view.discount_percent,
        "balance": view.balance,
        "point_value": view.point_value,
    }
    if view.redeemable_max is not None:
        body["redeemable_max"] = view.redeemable_max
    shown = display.texts(t, minor={}, points={"balance": view.balance})
    shown["discount_percent"] = display.percent_text(view.discount_percent)
    body["display"] = shown
    return jsonify(body)


@bp.post("/api/pos/v1/purchases")
def purchase() -> tuple[Response, int]:
    t = terminal(touch=True)  # the key first: nobody unknown gets the body parsed
    body = json_object()
    v.check_fields(body, {"receipt_id", "amount", "barcode", "redeem_points", "lines"})
    errors: dict[str, str] = {}
    receipt_id = v.text_id(body, "receipt_id", errors)
    amount = v.amount(body, "amount", errors, required=True)
    redeem = v.amount(body, "redeem_points", errors, required=False, minimum=0) or 0
    barcode = body.get("barcode")
    if barcode is not None and (not isinstance(barcode, str) or not 0 < len(barcode) <= 64):
        errors["barcode"] = "must be the scanned card code (text up to 64 characters)"
    lines = v.lines(body, errors)
    if errors:
        raise ValidationError(errors)
    assert amount is not None
    req = till.PurchaseRequest(receipt_id, amount, barcode, redeem, lines)
    result, created = till.record_purchase(db(), services().clock, t, req, till.request_hash(body))
    return jsonify(display.purchase_answer(t, result)), 201 if created else 200


@bp.post("/api/pos/v1/refunds")
def refund() -> tuple[Response, int]:
    t = terminal(touch=True)  # the key first: nobody unknown gets the body parsed
    body = json_object()
    v.check_fields(body, {"receipt_id", "refund_id", "amount"})
    errors: dict[str, str] = {}
    receipt_id = v.text_id(body, "receipt_id", errors)
    refund_id = v.text_id(body, "refund_id", errors)
    amount = v.amount(body, "amount", errors, required=False)
    if errors:
        raise ValidationError(errors)
    req = till.RefundRequest(receipt_id, refund_id, amount)
    result, created = till.record_refund(db(), services().clock, t, req, till.request_hash(body))
    return jsonify(display.refund_answer(t, result)), 201 if created else 200


@bp.post("/api/pos/v1/decode")
def decode() -> Response:
    """Read a QR code from a camera frame (for browsers without BarcodeDetector)."""
    terminal()
    if (request.content_length or 0) > DECODE_MAX_BYTES:
        raise RequestEntityTooLarge()
    request.max_content_length = DECODE_MAX_BYTES
    if request.mimetype not in ("image/jpeg", "image/png", "image/webp"):
        raise BadRequest("send one camera frame as image/jpeg, image/png or image/webp")
    text = decode_barcode(request.get_data())
    return jsonify({"code": text})
