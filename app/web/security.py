"""CSRF tokens, per-IP rate limits and security headers."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque

from flask import Flask, Response, request, session

from app.settings import RateLimit

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


class RateLimiter:
    """Sliding-window limit per key, kept in this process.

    Several web processes each keep their own window, so the effective limit is
    per process; put a shared limiter (Redis) in front when scaling out.
    """

    def __init__(self, limit: RateLimit, clock: object = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Record a hit; None if allowed, else seconds until the next one is."""
        assert callable(self._clock)
        now = float(self._clock())
        window_start = now - self.limit.per_seconds
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= window_start:
                hits.popleft()
            if len(hits) >= self.limit.count:
                return max(1.0, hits[0] - window_start)
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle clients, bound memory
                for k in [k for k, v in self._hits.items() if not v]:
                    del self._hits[k]
            return None


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
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
            "style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        return response
