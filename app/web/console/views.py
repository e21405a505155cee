"""Console pages: login, logout, home."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, redirect, render_template, request, url_for

from app.bounds import has_control_characters
from app.services import delivery, staff, staff_scope
from app.web.console import bp
from app.web.console.auth import current_staff, log_in, log_out, require
from app.web.console.forms import page
from app.web.db import db, services
from app.web.i18n import _
from app.web.security import csrf_token, csrf_valid
from app.web.shared import enforce_rate_limit


def _safe_next(target: str | None) -> str:
    # Only paths on this site: an open redirect would help phishing.
    # No control characters either: a CR/LF would split the Location header.
    if (
        target
        and len(target) <= 2000
        and not has_control_characters(target)
        and target.isprintable()
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("console.home")


def _login_page(status: int, email: str = "", notice: str | None = None) -> Response:
    html = render_template(
        "console/login.html",
        csrf=csrf_token(),
        email=email,
        notice=notice,
        next=request.values.get("next", ""),
    )
    return Response(html, status=status)


@bp.get("/login")
def login() -> Response:
    if current_staff() is not None:
        return redirect(_safe_next(request.args.get("next")))  # type: ignore[return-value]
    return _login_page(200)


@bp.post("/login")
def login_submit() -> Response:
    email = request.form.get("email", "")
    if not csrf_valid():
        return _login_page(
            400, email, _("The form has expired. Please check your details and send it again.")
        )
    enforce_rate_limit("login")
    enforce_rate_limit("login_account", email.strip().lower())
    # Not the request's session: a POST's would take SQLite's write lock up front and
    # hold it through the scrypt check. sign_in reads, checks, then records.
    svc = services()
    signed = staff.sign_in(svc.transaction, svc.clock, email, request.form.get("password", ""))
    if signed is None:
        return _login_page(
            401, email, _("Wrong e-mail or password, or too many attempts. Try again later.")
        )
    log_in(signed)
    return redirect(_safe_next(request.form.get("next")), code=303)  # type: ignore[return-value]


@bp.post("/logout")
def logout() -> Response:
    if csrf_valid():
        log_out()
    return redirect(url_for("console.login"), code=303)  # type: ignore[return-value]


@bp.get("/")
@require()
def home() -> Response:
    session = db()
    user = current_staff()
    assert user is not None  # require()
    programs = staff_scope.programs_of(session, user)
    stats = delivery.stats(session, services().clock)
    return page("console/home.html", programs=programs, stats=stats)
