"""Helpers shared by the blueprints."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from werkzeug.exceptions import TooManyRequests

from app.settings import RateLimit
from app.web.db import services

_TOO_MANY = {
    "enroll_phone": "too many enrollments with this phone number, try again later",
    "login_account": "too many sign-in attempts for this account, try again later",
    "pos": "too many requests from this terminal, try again later",
}


def enforce_rate_limit(bucket: str, subject: str | None = None) -> None:
    """Count this request against ``bucket``'s limit for ``subject`` (the client address
    unless given); 429 with Retry-After when it is used up."""
    limit: RateLimit = current_app.extensions["walletpass_limits"][bucket]
    wait = services().limiter.hit(bucket, subject or request.remote_addr or "unknown", limit)
    if wait is not None:
        message = _TOO_MANY.get(bucket, "too many requests from this address, try again later")
        error = TooManyRequests(message)
        error.retry_after = wait
        raise error


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on the configured public address (not the request's Host)."""
    return services().settings.public_url + url_for(endpoint, **values)
