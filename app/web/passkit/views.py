"""Apple's PassKit web service, exactly as Wallet speaks it (see docs/passkit.md)."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import Response, jsonify, request
from werkzeug.exceptions import BadRequest
from werkzeug.http import http_date

from app.push import wallet_apps
from app.push.relay_urls import RelayUrlError, check_push_service_url
from app.services import pass_renderings, passkit, render_failures
from app.web.db import db, services
from app.web.errors import json_error
from app.web.passkit import bp
from app.web.shared import enforce_rate_limit

logger = logging.getLogger(__name__)
PKPASS_MIME = "application/vnd.apple.pkpass"
# Apple Wallet's scheme and those of the Android apps that read .pkpass files.
_AUTH = re.compile(rf"^({'|'.join(wallet_apps.SCHEMES)})\s+(\S+)\s*$")
_DEVICE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_PUSH_TOKEN = re.compile(r"^[A-Za-z0-9:._-]{1,512}$")
MAX_LOG_LINES = 100


def _unauthorized() -> Response:
    return json_error(401, "unauthorized", "missing or wrong pass authentication token")


def _token() -> str | None:
    match = _AUTH.match(request.headers.get("Authorization", ""))
    return match.group(2) if match else None


def _authenticate(
    pass_type_id: str, serial: str, *, lookup_only: bool = False
) -> passkit.PassRef | None:
    """The pass the request is authorised for. ``lookup_only`` reads on a bare
    connection instead of the request's session (the hot paths)."""
    if pass_type_id != services().settings.apple.pass_type_id:
        return None
    if lookup_only:
        with services().lookup() as conn:
            return passkit.authenticate(conn, serial, _token())
    return passkit.authenticate(db(), serial, _token())


def _check_device(device_id: str) -> None:
    if not _DEVICE_ID.match(device_id):
        raise BadRequest("deviceLibraryIdentifier has unexpected characters or length")


def _json_body() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def _wallet_app() -> str:
    match = _AUTH.match(request.headers.get("Authorization", ""))
    scheme = match.group(1) if match else ""
    return wallet_apps.identify(
        scheme, request.headers.get("X-Pass-Client"), request.headers.get("User-Agent")
    )


def _register(device_id: str, pass_type_id: str, serial: str, *, relay_url: bool) -> Response:
    _check_device(device_id)
    # Limits before the request's session opens: every attempt counts per address; per
    # pass only once its token is right (read on a bare connection), so nobody can use
    # up another's pass.
    enforce_rate_limit("passkit_register")
    ref = _authenticate(pass_type_id, serial, lookup_only=True)
    if ref is None:
        return _unauthorized()
    enforce_rate_limit("passkit_register_pass", ref.serial_number)
    body = _json_body()
    token = body.get("pushToken")
    if not isinstance(token, str) or not _PUSH_TOKEN.match(token):
        raise BadRequest("pushToken is missing or malformed")
    push_service_url = None
    if relay_url:
        url = body.get("pushServiceUrl")
        if not isinstance(url, str):
            raise BadRequest("pushServiceUrl is missing")
        try:
            push_service_url = check_push_service_url(
                url, production=services().settings.is_production
            )
        except RelayUrlError as exc:
            raise BadRequest(str(exc)) from None
    who = passkit.Registrant(device_id, token, _wallet_app(), push_service_url)
    svc = services()
    created = passkit.register(
        db(), svc.clock, ref, who, max_devices=svc.settings.max_devices_per_pass
    )
    return Response(status=201 if created else 200)


@bp.post("/devices/<device_id>/registrations/<pass_type_id>/<serial>")
def register(device_id: str, pass_type_id: str, serial: str) -> Response:
    return _register(device_id, pass_type_id, serial, relay_url=False)


@bp.post("/devices/<device_id>/registrations_attido/<pass_type_id>/<serial>")
def register_passwallet(device_id: str, pass_type_id: str, serial: str) -> Response:
    """PassWallet (Attido) registers on its own route and names its push relay."""
    return _register(device_id, pass_type_id, serial, relay_url=True)


@bp.delete("/devices/<device_id>/registrations/<pass_type_id>/<serial>")
def unregister(device_id: str, pass_type_id: str, serial: str) -> Response:
    _check_device(device_id)
    ref = _authenticate(pass_type_id, serial)
    if ref is None:
        return _unauthorized()
    passkit.unregister(db(), services().clock, ref, device_id)
    return Response(status=200)


@bp.get("/devices/<device_id>/registrations/<pass_type_id>")
def changed(device_id: str, pass_type_id: str) -> Response:
    # No authentication here: the device library id is the secret. An unknown
    # device or pass type simply has nothing that changed.
    if pass_type_id != services().settings.apple.pass_type_id or not _DEVICE_ID.match(device_id):
        return Response(status=204)
    result = passkit.changed_serials(
        db(), services().clock, device_id, request.args.get("passesUpdatedSince")
    )
    if result is None:
        return Response(status=204)
    serials, tag = result
    return jsonify({"serialNumbers": serials, "lastUpdated": tag})


@bp.get("/passes/<pass_type_id>/<serial>")
def latest_pass(pass_type_id: str, serial: str) -> Response:
    svc = services()
    # One plain connection, no ORM session: the check, and after a push the pass the
    # worker signed ahead for this version.
    with svc.lookup() as conn:
        ours = pass_type_id == svc.settings.apple.pass_type_id
        ref = passkit.authenticate(conn, serial, _token()) if ours else None
        if ref is None:
            return _unauthorized()
        since = request.if_modified_since
        fresh = since is not None and int(since.timestamp()) >= ref.last_modified
        body = (
            None if fresh else pass_renderings.served(conn, ref.id, ref.last_modified, svc.pkpass)
        )
    if fresh:
        response = Response(status=304)
    else:
        if body is None:
            try:
                body = passkit.signed_pass(db(), ref.id, svc.pkpass, svc.templates)
            except passkit.UnrenderablePassError as broken:
                return _unrenderable(ref.id, broken.cause)
        response = Response(body, mimetype=PKPASS_MIME)
    response.headers["Last-Modified"] = http_date(ref.last_modified)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _unrenderable(pass_id: int, exc: Exception) -> Response:
    """Mark the pass (the worker retries it with backoff and pushes the phones once it
    renders) and answer 503: the phone keeps the pass it has."""
    reason = render_failures.reason_of(exc)
    logger.error("pass %d cannot be rendered for Wallet: %s", pass_id, reason)
    svc = services()
    db().rollback()  # the request only read; the mark is written in its own transaction
    with svc.transaction() as session:
        render_failures.fetch_failed(session, svc.clock, pass_id, reason)
    response = json_error(503, "pass_unavailable", "the pass cannot be produced right now")
    response.headers["Retry-After"] = str(int(render_failures.FIRST_RETRY.total_seconds()))
    return response


@bp.post("/log")
def log() -> Response:
    enforce_rate_limit("passkit_log")
    lines = _json_body().get("logs")
    if not isinstance(lines, list) or not all(isinstance(x, str) for x in lines):
        raise BadRequest("logs must be a list of strings")
    if len(lines) > MAX_LOG_LINES:
        raise BadRequest(f"at most {MAX_LOG_LINES} log lines per request")
    passkit.store_logs(db(), services().clock, lines)
    return Response(status=200)
