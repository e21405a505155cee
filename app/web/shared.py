"""Helpers shared by the blueprints."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, request, url_for
from werkzeug.exceptions import TooManyRequests

from app.services import enrollment
from app.settings import RateLimit
from app.web.db import services

_TOO_MANY = {
    "enroll_phone": "too many enrollments with this phone number, try again later",
    "card_link_phone": "the link was asked for this phone number too often, try again later",
    "login_account": "too many sign-in attempts for this account, try again later",
    "pos": "too many requests from this terminal, try again later",
    "passkit_register_pass": "too many registrations of this pass, try again later",
}


def enforce_rate_limit(bucket: str, subject: str | None = None) -> None:
    """Count this request against ``bucket``'s limit for ``subject`` (the client address
    unless given); 429 with Retry-After when it is used up.

    Called before the request's unit of work begins: the limiter commits on its own
    connection, which on SQLite would wait for the request's own write lock.
    """
    if g.get("_db") is not None:
        raise RuntimeError(f"rate limit {bucket!r} checked after the request's session opened")
    limit: RateLimit = current_app.extensions["walletpass_limits"][bucket]
    wait = services().limiter.hit(bucket, subject or request.remote_addr or "unknown", limit)
    if wait is not None:
        message = _TOO_MANY.get(bucket, "too many requests from this address, try again later")
        error = TooManyRequests(message)
        error.retry_after = wait
        raise error


def enforce_phone_limit(slug: str, raw_phone: object, bucket: str = "enroll_phone") -> None:
    """The per-phone enrollment limit, on the number as the program normalises it (so
    every way of writing it counts once); an invalid number is left to validation."""
    if not isinstance(raw_phone, str):
        return
    with services().transaction(write=False) as session:
        phone = enrollment.normalised_phone(session, slug, raw_phone)
    if phone is not None:
        enforce_rate_limit(bucket, phone)


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on the configured public address (not the request's Host)."""
    return services().settings.public_url + url_for(endpoint, **values)
