"""Helpers shared by the blueprints."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from werkzeug.exceptions import TooManyRequests

from app.web.db import services
from app.web.security import RateLimiter


def enforce_rate_limit(bucket: str) -> None:
    limiter: RateLimiter = current_app.extensions["walletpass_limiters"][bucket]
    wait = limiter.hit(request.remote_addr or "unknown")
    if wait is not None:
        error = TooManyRequests("too many requests from this address, try again later")
        error.retry_after = int(wait) + 1
        raise error


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on the configured public address (not the request's Host)."""
    return services().settings.public_url + url_for(endpoint, **values)
