"""The access log, written by the app: the route template, never the path.

Paths carry capabilities (``/c/<card id>``, PassKit device ids, serial numbers), so
each request is logged as its URL rule (``/c/<public_id>``; ``<unmatched>`` when no
route matched) with method, status, duration and a request id. The id comes from a
trusted proxy's ``X-Request-Id`` when it is a short plain token, else it is made
here; it is echoed in the response and carried by every log record of the request.
"""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, g, request

from app import logs

log = logging.getLogger("walletpass.access")

HEADER = "X-Request-Id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
UNMATCHED = "<unmatched>"


def route_template() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else UNMATCHED


def init_app(app: Flask, *, trust_request_id: bool) -> None:
    """Register before any hook that may end a response late (the commit), so the
    line is written last and its duration covers them."""

    @app.before_request
    def _start() -> None:
        g.access_started = time.perf_counter()
        sent = request.headers.get(HEADER, "") if trust_request_id else ""
        rid = sent if _SAFE_ID.match(sent) else secrets.token_hex(8)
        g.request_id = rid
        g.request_id_token = logs.request_id.set(rid)

    @app.after_request
    def _finish(response: Response) -> Response:
        rid = g.get("request_id")
        started = g.get("access_started")
        if rid is None or started is None:  # a failure before _start ran
            return response
        response.headers[HEADER] = rid
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        route = route_template()
        log.info(
            "%s %s %d %.1fms",
            request.method,
            route,
            response.status_code,
            duration_ms,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": duration_ms,
                "request_id": rid,
            },
        )
        return response

    @app.teardown_request
    def _forget(exc: BaseException | None) -> None:
        token = g.pop("request_id_token", None)
        if token is not None:
            logs.request_id.reset(token)
