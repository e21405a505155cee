"""Google Wallet's save/delete callbacks."""

from __future__ import annotations

import logging

from flask import Response, abort, jsonify, request

from app.passes.google.callbacks import CallbackError, CallbackVerifier
from app.services import google_keys, google_wallet
from app.web.db import db, services
from app.web.errors import json_error
from app.web.google import bp

log = logging.getLogger(__name__)


@bp.post("/callbacks")
def callbacks() -> Response:
    """Verify the ECv2SigningOnly chain; anything unverified changes nothing (400)."""
    svc = services()
    google = svc.google
    if google is None:
        abort(404)
    verifier = google.verifier
    url = google.settings.root_keys_url
    if verifier is None and url is not None:
        keys = google_keys.root_keys(db(), url)
        if keys is None:
            # The worker stores them at its start; Google delivers the callback again.
            log.warning("Google callback answered 503: the worker has not stored the keys yet")
            response = json_error(503, "keys_unavailable", "callback keys not loaded yet")
            response.headers["Retry-After"] = "60"
            return response
        verifier = CallbackVerifier(google.settings.issuer_id, keys)
    if verifier is None:
        abort(404)
    now_ms = int(svc.clock.now().timestamp() * 1000)
    try:
        message = verifier.verify(request.get_data(), now_ms)
    except CallbackError as exc:
        log.warning("refused a Google Wallet callback: %s", exc.reason)
        return json_error(400, "invalid_callback", f"callback not accepted: {exc.reason}")
    result = google_wallet.handle_callback(db(), svc.clock, message)
    if result == "duplicate":
        # Already applied: a replay changes nothing, whoever sends it.
        return json_error(400, "replayed_callback", "this callback's nonce was already used")
    return jsonify({"result": result})
