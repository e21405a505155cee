"""CSRF tokens and security headers (rate limits: app.web.shared, app.ratelimits)."""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, request, session

CSRF_FIELD = "csrf_token"


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid() -> bool:
    expected = session.get("csrf")
    sent = request.form.get(CSRF_FIELD, "")
    return isinstance(expected, str) and hmac.compare_digest(expected.encode(), sent.encode())


def init_app(app: Flask, *, https: bool) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
    )

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Card links are capabilities: never leak them to other sites.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Content-Security-Policy", csp(inline_styles=False))
        return response


def csp(*, inline_styles: bool) -> str:
    """The Content-Security-Policy: scripts and styles from our own files only. The
    public join and card pages still carry the program's colours in a style attribute
    (``inline_styles``); the console, the cashier page and the API docs do not."""
    style = "style-src 'self' 'unsafe-inline'" if inline_styles else "style-src 'self'"
    return (
        "default-src 'self'; script-src 'self'; img-src 'self' data: blob:; "
        f"media-src 'self' blob:; {style}; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'"
    )
