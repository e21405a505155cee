"""JSON API for enrollment (used by sites, apps and kiosks)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from werkzeug.exceptions import BadRequest, UnsupportedMediaType

from app.loyalty import rules
from app.services import enrollment, invites, programs
from app.web.api import bp
from app.web.db import db, services
from app.web.shared import enforce_phone_limit, enforce_rate_limit, external_url

ENROLLMENT_FIELDS = (
    "name",
    "phone",
    "birthday",
    "email",
    "locale",
    "consent",
    "marketing_consent",
)


def json_object() -> dict[str, Any]:
    """The request body as a JSON object, or a 415/400 that says what is wrong."""
    if not request.is_json:
        raise UnsupportedMediaType("send the body as application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


@bp.post("/programs/<slug>/enrollments")
def create_enrollment(slug: str) -> tuple[Response, int]:
    body = json_object()
    unknown = sorted(set(body) - set(ENROLLMENT_FIELDS))
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    enforce_rate_limit("enroll")
    enforce_phone_limit(slug, body.get("phone"))
    svc = services()
    session = db()
    program = programs.get_program(session, slug)
    data = enrollment.validate(
        enrollment.EnrollmentForm(**{k: body.get(k) for k in ENROLLMENT_FIELDS}),
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
