"""POS API (contract): enroll a shopper at the till by phone number."""

from __future__ import annotations

from flask import Response, jsonify

from app.services import till_enrollment
from app.web.contract import operation, parse_body
from app.web.db import db, services
from app.web.pos import bp
from app.web.pos.api import TERMINAL_ERRORS, terminal
from app.web.pos.schemas import TillEnrollmentAnswer, TillEnrollmentBody


@bp.post("/api/pos/v1/enrollments")
@operation(
    "Enroll a shopper at the till by phone; the barcode works on this receipt, "
    "the install link goes by SMS after the commit",
    body=TillEnrollmentBody,
    ok={201: TillEnrollmentAnswer},
    errors=(*TERMINAL_ERRORS, 409, 422),
    security="terminal",
    links={
        201: {
            "LookUpTheCard": {
                "operationId": "pos.lookup",
                "parameters": {"code": "$response.body#/card/barcode"},
            },
            "BuyWithTheCard": {
                "operationId": "pos.purchase",
                "requestBody": {
                    "receipt_id": "$response.body#/card/number",
                    "amount": 1000,
                    "barcode": "$response.body#/card/barcode",
                },
            },
        }
    },
)
def enroll() -> tuple[Response, int]:
    t = terminal(touch=True)  # the key first, rate-limited before the transaction opens
    body = parse_body(TillEnrollmentBody).model_dump(exclude_unset=True)
    svc = services()
    result = till_enrollment.enroll_at_till(
        db(), svc.clock, svc.queue, t.program, body, svc.messaging.channels_on
    )
    return jsonify(result.as_json()), 201
