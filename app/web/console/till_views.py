"""Admins' tills page of a program: its tills by store with their key prefix, state and
last use, revocation, and pairing a new till by a QR code the cashier page scans."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from flask import Response, abort, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.posters.qrcodes import qr_png
from app.services import stores, terminals, till_pairing
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.design_views import _program
from app.web.console.forms import page
from app.web.db import db, services
from app.web.i18n import _, lazy_pgettext, service_error
from app.web.security import csrf_valid
from app.web.shared import external_url

if TYPE_CHECKING:
    from app.loyalty.models import Program

FIELD_ERRORS = {
    "store": lazy_pgettext("field error", "Choose a store of this program"),
    "name": lazy_pgettext(
        "field error", "A name is required (up to 100 characters) and must not repeat"
    ),
}


def error_text(key: str, english: str) -> str:
    return service_error(english, FIELD_ERRORS.get(key))


def _page(program: Program, status: int = 200, **context: object) -> Response:
    session = db()
    return page(
        "console/tills.html",
        status,
        program=program,
        tills=terminals.list_terminals(session, program),
        pending=till_pairing.pending(session, services().clock, program),
        store_list=stores.list_stores(session, program),
        error_text=error_text,
        **{"values": {}, "errors": {}, "notice": None, **context},
    )


@bp.get("/programs/<slug>/tills")
@require("admin")
def till_list(slug: str) -> Response:
    return _page(_program(slug))


@bp.post("/programs/<slug>/tills/pair")
@require("admin")
def till_pair(slug: str) -> Response:
    program = _program(slug)
    values = {"store": request.form.get("store", ""), "name": request.form.get("name", "")}
    if not csrf_valid():
        return _page(
            program,
            400,
            values=values,
            notice=_("The form has expired. Please check the values and send it again."),
        )
    try:
        new = till_pairing.start_pairing(
            db(),
            services().clock,
            program,
            values["store"],
            values["name"],
            current_staff() or "console",
        )
    except ValidationError as exc:
        return _page(
            program,
            422,
            values=values,
            errors=exc.fields,
            notice=_("Please correct the fields below."),
        )
    link = f"{external_url('pos.cashier')}#pair={new.code}"
    qr = base64.b64encode(qr_png(link, box_size=6)).decode()
    response = page(
        "console/till_pairing.html",
        program=program,
        pairing=new.pairing,
        code=till_pairing.pretty(new.code),
        qr=qr,
        pos_url=external_url("pos.cashier"),
        minutes=till_pairing.PAIRING_MINUTES,
    )
    response.headers["Cache-Control"] = "no-store"  # the code is shown once
    return response


@bp.post("/programs/<slug>/tills/<int:terminal_id>/revoke")
@require("admin")
def till_revoke(slug: str, terminal_id: int) -> Response:
    program = _program(slug)
    till = next((t for t in terminals.list_terminals(db(), program) if t.id == terminal_id), None)
    if till is None:
        abort(404)
    if csrf_valid():
        terminals.revoke(
            db(), services().clock, program, till.key_prefix, current_staff() or "console"
        )
        flash(_("The till's key no longer works."))
    return redirect(url_for("console.till_list", slug=slug), code=303)  # type: ignore[return-value]
