"""Console: a member's data as a JSON download, and erasure (admins, typed confirmation)."""

from __future__ import annotations

import json

from flask import Response, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.services import erasure, member_export
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.member_views import _card, _card_page
from app.web.db import db, services, write_db
from app.web.i18n import _
from app.web.security import csrf_valid

EXPORT_ROLES = ("admin", "store_manager")
ERASE_ROLES = ("admin",)


@bp.get("/cards/<number>/export.json")
@require(*EXPORT_ROLES)
def card_export(number: str) -> Response:
    """Everything we hold about the card's member; the download is audited."""
    write_db()
    card = _card(request.args.get("program"), number)
    data = member_export.export(
        db(), services().clock, card, current_staff() or "console", via="console"
    )
    response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="member-{card.number}.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/cards/<number>/erase")
@require(*ERASE_ROLES)
def card_erase(number: str) -> Response:
    card = _card(request.form.get("program"), number)
    if not csrf_valid():
        return _card_page(
            card, 400, notice=_("The form has expired. Please check the values and send it again.")
        )
    if not erasure.confirmation_matches(card, request.form.get("confirm")):
        return _card_page(
            card, 422, {"confirm": _("Type the card number exactly to confirm the erasure.")}
        )
    try:
        erasure.erase(db(), services().clock, card, current_staff() or "console")
    except ValidationError as exc:
        return _card_page(card, 409, exc.fields)
    target = url_for("console.card_detail", number=card.number, program=card.program.slug)
    return redirect(f"{target}&erased=1", code=303)  # type: ignore[return-value]
