"""POS API (contract): enroll a shopper at the till by phone number."""

from __future__ import annotations

from flask import Response, jsonify

from app.services import till_enrollment
from app.web.api.views import json_object
from app.web.db import db, services
from app.web.pos import bp
from app.web.pos.api import terminal


@bp.post("/api/pos/v1/enrollments")
def enroll() -> tuple[Response, int]:
    body = json_object()
    t = terminal(touch=True)  # rate-limited per terminal before the transaction opens
    svc = services()
    result = till_enrollment.enroll_at_till(
        db(), svc.clock, svc.queue, t.program, body, svc.messaging.channels_on
    )
    return jsonify(result.as_json()), 201
