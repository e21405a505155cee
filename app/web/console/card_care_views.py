"""Console actions on a card's page: level, block, replace, phone, merge, card link.

Each is a POST of its own small form (admins and store managers); a refused value
comes back on the card's page next to its form (field keys ``<form>_<field>``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Response, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.services import card_care
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.card_care_texts import CARE_ROLES
from app.web.console.member_views import _card, _card_page
from app.web.db import db, services
from app.web.i18n import _
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.loyalty.models import Card


def _message(form: str, field: str, raw: str) -> str:
    if field == "reason":
        return _("Say why (3 to 500 characters).")
    if field == "phone":
        return (
            _("Another member of the program has this phone.")
            if "another member" in raw
            else _("Not a valid phone number.")
        )
    if field == "other":
        return (
            _("That card was already merged.")
            if "merged" in raw
            else _("Enter the number of another card of this program.")
        )
    if field == "tier":
        return _("Choose a level from the list.")
    return _("Not possible for this card ({why}).", why=raw)


def _act(form: str, number: str, action: Callable[[Card], str]) -> Response:
    """Run ``action`` on the card of the URL; its result is the notice key."""
    card = _card(request.form.get("program"), number)
    values = {f"{form}_{k}": v for k, v in request.form.items() if k != "csrf_token"}
    if not csrf_valid():
        return _card_page(
            card,
            400,
            values=values,
            notice=_("The form has expired. Please check the values and send it again."),
        )
    try:
        notice = action(card)
    except ValidationError as exc:
        errors = {f"{form}_{k}": _message(form, k, v) for k, v in exc.fields.items()}
        return _card_page(card, 422, errors, values, _("Please correct the fields below."))
    except card_care.ChannelOffError as exc:
        return _card_page(
            card,
            422,
            notice=_(
                "The link cannot be sent: no channel reaches this member ({missing}).",
                missing=exc.missing,
            ),
        )
    target = url_for("console.card_detail", number=card.number, program=card.program.slug)
    return redirect(f"{target}&done={notice}", code=303)  # type: ignore[return-value]


@bp.post("/cards/<number>/tier")
@require(*CARE_ROLES)
def card_set_tier(number: str) -> Response:
    def act(card: Card) -> str:
        card_care.set_tier(
            db(),
            services().clock,
            card,
            request.form.get("tier", ""),
            request.form.get("reason", ""),
            current_staff() or "console",
        )
        return "tier"

    return _act("tier", number, act)


@bp.post("/cards/<number>/block")
@require(*CARE_ROLES)
def card_block(number: str) -> Response:
    def act(card: Card) -> str:
        blocked = request.form.get("blocked") == "1"
        card_care.set_blocked(
            db(),
            services().clock,
            card,
            blocked,
            request.form.get("reason", ""),
            current_staff() or "console",
        )
        return "blocked" if blocked else "active"

    return _act("block", number, act)


@bp.post("/cards/<number>/replace")
@require(*CARE_ROLES)
def card_replace(number: str) -> Response:
    def act(card: Card) -> str:
        card_care.replace_card(
            db(),
            services().clock,
            card,
            request.form.get("reason", ""),
            current_staff() or "console",
        )
        return "replaced"

    return _act("replace", number, act)


@bp.post("/cards/<number>/phone")
@require(*CARE_ROLES)
def card_change_phone(number: str) -> Response:
    def act(card: Card) -> str:
        card_care.change_phone(
            db(),
            services().clock,
            card.member,
            request.form.get("phone", ""),
            request.form.get("reason", ""),
            current_staff() or "console",
        )
        return "phone"

    return _act("phone", number, act)


@bp.post("/cards/<number>/merge")
@require(*CARE_ROLES)
def card_merge(number: str) -> Response:
    moved: list[int] = []

    def act(card: Card) -> str:
        moved.append(
            card_care.merge_numbered(
                db(),
                services().clock,
                card,
                request.form.get("other", ""),
                request.form.get("reason", ""),
                current_staff() or "console",
            )
        )
        return "merged"

    response = _act("merge", number, act)
    if moved and response.status_code == 303:
        response.headers["Location"] += f"&points={moved[0]}"
    return response


@bp.post("/cards/<number>/send-link")
@require(*CARE_ROLES)
def card_send_link(number: str) -> Response:
    def act(card: Card) -> str:
        svc = services()
        sent = card_care.resend_link(
            db(),
            svc.clock,
            svc.queue,
            card,
            svc.messaging.channels_on,
            svc.messaging.off,
            current_staff() or "console",
        )
        return f"link.{sent.channel}"

    return _act("link", number, act)
