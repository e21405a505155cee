"""POS API (contract): card lookup, purchases, refunds, for till software and the cashier page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from flask import Response, g, jsonify, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from app.posters.decode import decode_barcode
from app.services import terminals, till, till_pairing
from app.web.contract import operation, parse_body, parse_query
from app.web.db import db, services
from app.web.pos import bp, display
from app.web.pos import schemas as s
from app.web.shared import enforce_rate_limit

if TYPE_CHECKING:
    from app.till.models import Terminal

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


TERMINAL_ERRORS = (401, 429)  # every POS call: the key, then the per-terminal limit
PURCHASE_ERRORS = (*TERMINAL_ERRORS, 404, 409, 422)  # unknown card; spent code; card rules


@bp.post("/api/pos/v1/pair")
@operation(
    "Trade a one-time pairing code (the console's QR code) for a new till's key",
    body=s.PairBody,
    ok={201: s.PairAnswer},
    errors=(429,),
)
def pair() -> tuple[Response, int]:
    """Trade a pairing code (the console's QR code) for a new till's key, once."""
    enforce_rate_limit("pos_pair")  # per address, before anything is read
    code = parse_body(s.PairBody).code
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
@operation(
    "The terminal the key belongs to",
    ok={200: s.TerminalAnswer},
    errors=TERMINAL_ERRORS,
    security="terminal",
)
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
@operation(
    "Look a card up by its scanned code or number",
    ok={200: s.CardAnswer},
    errors=(*TERMINAL_ERRORS, 404, 422),
    query=s.LookupQuery,
    security="terminal",
)
def lookup(code: str) -> Response:
    t = terminal()
    amount = parse_query(s.LookupQuery).amount
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


REPLAY = "201 the first time; 200 with the same answer when the same body is sent again"


@bp.post("/api/pos/v1/purchases")
@operation(
    "Record a purchase (idempotent per terminal and receipt_id)",
    description=REPLAY + "; 409 duplicate_conflict when the receipt_id was used for another",
    body=s.PurchaseBody,
    ok={201: s.PurchaseAnswer, 200: s.PurchaseAnswer},
    errors=PURCHASE_ERRORS,
    security="terminal",
    links={
        201: {
            "RefundThisPurchase": {
                "operationId": "pos.refund",
                "requestBody": {
                    "receipt_id": "$response.body#/receipt_id",
                    "refund_id": "$response.body#/receipt_id",
                },
            }
        }
    },
)
def purchase() -> tuple[Response, int]:
    t = terminal(touch=True)  # the key first: nobody unknown gets the body parsed
    body = parse_body(s.PurchaseBody)
    lines = [line.model_dump(exclude_none=True) for line in body.lines or ()] or None
    req = till.PurchaseRequest(
        body.receipt_id, body.amount, body.barcode, body.redeem_points or 0, lines
    )
    digest = till.request_hash(body.model_dump(exclude_unset=True))
    result, created = till.record_purchase(db(), services().clock, t, req, digest)
    return jsonify(display.purchase_answer(t, result)), 201 if created else 200


@bp.post("/api/pos/v1/refunds")
@operation(
    "Record a refund (idempotent per terminal and refund_id)",
    description=REPLAY,
    body=s.RefundBody,
    ok={201: s.RefundAnswer, 200: s.RefundAnswer},
    errors=(*TERMINAL_ERRORS, 404, 409, 422),
    security="terminal",
)
def refund() -> tuple[Response, int]:
    t = terminal(touch=True)  # the key first: nobody unknown gets the body parsed
    body = parse_body(s.RefundBody)
    req = till.RefundRequest(body.receipt_id, body.refund_id, body.amount)
    digest = till.request_hash(body.model_dump(exclude_unset=True))
    result, created = till.record_refund(db(), services().clock, t, req, digest)
    return jsonify(display.refund_answer(t, result)), 201 if created else 200


@bp.post("/api/pos/v1/decode")
@operation(
    "Read a QR code from a camera frame (image/jpeg, image/png or image/webp)",
    ok={200: s.DecodeAnswer},
    errors=(*TERMINAL_ERRORS, 400, 413),
    security="terminal",
    body_media=("image/jpeg", "image/png", "image/webp"),
)
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
