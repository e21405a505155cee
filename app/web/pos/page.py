"""The cashier page: a phone or tablet at the till, talking to the POS API."""

from __future__ import annotations

from flask import Response, render_template

from app.web.pos import bp
from app.web.pos.texts import script_texts


@bp.get("/pos")
def cashier() -> Response:
    # The page holds no data itself: it asks for the terminal key once, keeps it in
    # the browser, and sends it as a Bearer token to /api/pos/v1 (no cookies, so no CSRF).
    page = render_template("pos.html", script_texts=script_texts())
    response = Response(page)
    response.headers["Cache-Control"] = "no-store"
    return response
