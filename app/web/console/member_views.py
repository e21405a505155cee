"""Console pages: members list with search, a card's detail, manual adjustments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, abort, redirect, request, url_for

from app.loyalty.errors import InsufficientPointsError, ValidationError
from app.services import adjustments, cards, members
from app.web.console import bp, card_care_texts
from app.web.console.auth import current_staff, require
from app.web.console.forms import page, program_named
from app.web.db import db, services
from app.web.i18n import _
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.loyalty.models import Card

VIEW_ROLES = ("admin", "marketer", "store_manager")
ADJUST_ROLES = ("admin", "store_manager")


def _card(program_slug: str | None, number: str) -> Card:
    program = program_named(db(), program_slug)
    card = cards.card_numbered(db(), program.id, number)
    if card is None:
        abort(404)
    return card


@bp.route("/members", methods=["GET", "POST"])
@require(*VIEW_ROLES)
def member_list() -> Response:
    """Search is a POST: a phone number or a name must not end up in URLs and logs."""
    program = program_named(db(), request.values.get("program"))
    query = request.form.get("q", "") if request.method == "POST" and csrf_valid() else ""
    found = members.search(db(), program, query)
    return page(
        "console/members.html",
        program=program,
        query=query,
        found=found,
        **card_care_texts.helpers(),
    )


def _card_page(
    card: Card,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    notice: str | None = None,
) -> Response:
    user = current_staff()
    return page(
        "console/card_detail.html",
        status=status,
        card=card,
        program=card.program,
        history=members.history(db(), card),
        errors=errors or {},
        values=values or {},
        notice=notice,
        can_adjust=user is not None and user.role in ADJUST_ROLES,
        can_export=user is not None and user.role in ("admin", "store_manager"),
        can_erase=user is not None and user.role == "admin",
        can_care=user is not None and user.role in card_care_texts.CARE_ROLES,
        merged_here=members.merged_into(db(), card),
        **card_care_texts.helpers(),
    )


@bp.get("/cards/<number>")
@require(*VIEW_ROLES)
def card_detail(number: str) -> Response:
    card = _card(request.args.get("program"), number)
    notice = (
        _("Saved: the card on the phone updates shortly.")
        if request.args.get("saved")
        else card_care_texts.done_notice(card)
    )
    if request.args.get("pending"):
        notice = _(
            "This is more than your role may adjust alone: it waits for an admin's approval."
        )
    if request.args.get("erased"):
        notice = _("The member's personal data was erased; the card no longer works.")
    return _card_page(card, notice=notice)


@bp.post("/cards/<number>/adjust")
@require(*ADJUST_ROLES)
def card_adjust(number: str) -> Response:
    card = _card(request.form.get("program"), number)
    values = {k: request.form.get(k, "") for k in ("points", "reason")}
    if not csrf_valid():
        return _card_page(
            card,
            400,
            values=values,
            notice=_("The form has expired. Please check the values and send it again."),
        )
    raw = values["points"].strip().replace(" ", "")
    try:
        points = int(raw)
    except ValueError:
        return _card_page(card, 422, {"points": "whole number"}, values)
    try:
        done = adjustments.submit(
            db(), services().clock, card, points, values["reason"], current_staff() or "console"
        )
    except ValidationError as exc:
        return _card_page(card, 422, exc.fields, values)
    except InsufficientPointsError:
        return _card_page(
            card, 422, {"points": _("The card does not have that many points.")}, values
        )
    outcome = "pending" if adjustments.waits_for_approval(done) else "saved"
    target = url_for("console.card_detail", number=card.number, program=card.program.slug)
    return redirect(f"{target}&{outcome}=1", code=303)  # type: ignore[return-value]
