"""Console page where admins approve or reject point adjustments above a role's cap."""

from __future__ import annotations

from flask import Response, flash, redirect, url_for

from app.loyalty.errors import InsufficientPointsError, ValidationError
from app.services import adjustments, staff_scope
from app.staff.errors import StaffStateError
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.forms import page
from app.web.db import db, services
from app.web.i18n import _
from app.web.security import csrf_valid


def _page(status: int = 200, notice: str | None = None) -> Response:
    user = current_staff()
    assert user is not None  # require()
    return page(
        "console/adjustments.html",
        status,
        rows=adjustments.pending(db(), staff_scope.program_ids(db(), user)),
        notice=notice,
        caps=adjustments.CAPS,
    )


@bp.get("/adjustments")
@require("admin")
def adjustment_list() -> Response:
    return _page()


def _decide(pending_id: int, approve: bool) -> Response:
    user = current_staff()
    assert user is not None
    if not csrf_valid():
        return _page(400, _("The form has expired. Please check the values and send it again."))
    try:
        if approve:
            adjustments.approve(db(), services().clock, pending_id, user)
        else:
            adjustments.reject(db(), services().clock, pending_id, user)
    except StaffStateError as exc:
        own = "your own" in str(exc)
        return _page(
            409,
            _("Another admin must decide on your own request.")
            if own
            else _("This request was already decided."),
        )
    except (InsufficientPointsError, ValidationError):
        return _page(409, _("The card no longer has that many points."))
    flash(_("Approved: the points are on the card.") if approve else _("Rejected."))
    return redirect(url_for("console.adjustment_list"), code=303)  # type: ignore[return-value]


@bp.post("/adjustments/<int:pending_id>/approve")
@require("admin")
def adjustment_approve(pending_id: int) -> Response:
    return _decide(pending_id, approve=True)


@bp.post("/adjustments/<int:pending_id>/reject")
@require("admin")
def adjustment_reject(pending_id: int) -> Response:
    return _decide(pending_id, approve=False)
