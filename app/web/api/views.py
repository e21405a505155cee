"""JSON API for enrollment (used by sites, apps and kiosks)."""

from __future__ import annotations

from flask import Response, jsonify

from app.loyalty import rules
from app.services import enrollment, invites, programs
from app.web.api import bp
from app.web.api import schemas as s
from app.web.contract import json_object as contract_json_object
from app.web.contract import operation, parse_body
from app.web.db import db, services
from app.web.shared import enforce_phone_limit, enforce_rate_limit, external_url

# Kept for the modules that import it from here.
json_object = contract_json_object


@bp.post("/programs/<slug>/enrollments")
@operation(
    "Enroll a shopper: member, card and wallet pass",
    body=s.EnrollmentBody,
    ok={201: s.EnrollmentAnswer},
    errors=(409, 429),
    links={
        201: {
            "LookUpAtTheTill": {
                "operationId": "pos.lookup",
                "parameters": {"code": "$response.body#/card/barcode"},
            }
        }
    },
)
def create_enrollment(slug: str) -> tuple[Response, int]:
    body = parse_body(s.EnrollmentBody)
    enforce_rate_limit("enroll")
    enforce_phone_limit(slug, body.phone)
    svc = services()
    session = db()
    program = programs.get_program(session, slug)
    data = enrollment.validate(
        enrollment.EnrollmentForm(**body.model_dump()),
        program,
        svc.clock.now().date(),
    )
    card = enrollment.enroll(session, svc.clock, program, data, source="api")
    invites.after_enrollment(session, svc.clock, svc.queue, card, "site", svc.messaging.channels_on)
    payload = {
        "card": {
            "number": card.number,
            "barcode": rules.barcode_value(card.number, card.barcode_secret),
        },
        "links": {
            "apple_pass": external_url("join.apple_pass", public_id=card.public_id),
            "card_page": external_url("join.card_page", public_id=card.public_id),
        },
    }
    if svc.google is not None:
        payload["links"]["google_save"] = external_url("join.google_save", public_id=card.public_id)
    return jsonify(payload), 201
