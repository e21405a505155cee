"""Staff API: a member's data (right of access) and erasure (right to erasure).

The member is addressed by card number, never by phone: a phone number in a URL would
end up in access logs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from flask import Response, g, jsonify
from pydantic import ConfigDict, Field
from werkzeug.exceptions import NotFound

from app.loyalty.errors import ValidationError
from app.services import cards, erasure, member_export
from app.web.api import bp
from app.web.api.crm import _program, staff_api
from app.web.contract import Answer, Body, operation, parse_body
from app.web.db import db, services, write_db
from app.web.errors import json_error

if TYPE_CHECKING:
    from app.loyalty.models import Card

EXPORT_ROLES = ("admin", "store_manager")
ERASE_ROLES = ("admin",)
Objects = list[dict[str, Any]]


class Device(Answer):
    wallet_app: str
    registered_at: str


class MemberData(Answer):
    """Everything held about the member: profile, consents (with the text version shown and
    its wording), card, ledger, receipts with refunds, wallet apps holding the card (no push
    tokens), Google Wallet save state, campaign targets, invites, lifecycle history. Never
    credentials: no push tokens, pass authentication token, barcode secret or card-page id."""

    model_config = ConfigDict(extra="allow")
    format: Literal[member_export.FORMAT]  # type: ignore[valid-type]
    exported_at: str
    member: dict[str, Any]
    consents: dict[str, Any]
    card: dict[str, Any]
    ledger: Objects
    receipts: Objects | None = None
    devices: list[Device] | None = None
    google_wallet: dict[str, Any] | None = None
    campaigns: Objects | None = None
    invites: Objects | None = None
    stage_history: Objects | None = None


class EraseBody(Body):
    confirm: str = Field(description="the card number again (the typed confirmation)")


class Erased(Answer):
    card_number: str
    erased_at: str


def _card(slug: str, number: str) -> Card:
    program = _program(slug)
    card = cards.card_numbered(db(), program.id, number)
    if card is None:
        raise NotFound("no such card")
    return card


@bp.get("/programs/<slug>/cards/<number>/member-data")
@operation(
    "Everything held about the card's member, as JSON (right of access); audited. "
    "Roles admin, store_manager",
    ok={200: MemberData},
    errors=(401, 403, 404),
    security="staff",
)
@staff_api(*EXPORT_ROLES)
def member_data(slug: str, number: str) -> Response:
    write_db()  # the download is audited
    card = _card(slug, number)
    data = member_export.export(db(), services().clock, card, g.staff, via="api")
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/programs/<slug>/cards/<number>/erase")
@operation(
    "Erase the member's personal data (right to erasure): name, phone, e-mail, birthday "
    "go, the card stops working, the pass is voided and the Google object expired; "
    "receipts and points stay, anonymised. Role admin",
    body=EraseBody,
    ok={200: Erased},
    errors=(401, 403, 404, 409),
    security="staff",
)
@staff_api(*ERASE_ROLES)
def erase_member(slug: str, number: str) -> Response:
    confirm = parse_body(EraseBody).confirm
    card = _card(slug, number)
    if not erasure.confirmation_matches(card, confirm):
        raise ValidationError({"confirm": "must be the card number (the typed confirmation)"})
    if card.member.erased_at is not None:
        return json_error(409, "already_erased", "the member's data was erased already")
    erasure.erase(db(), services().clock, card, g.staff)
    erased_at = card.member.erased_at
    assert erased_at is not None
    return jsonify({"card_number": card.number, "erased_at": erased_at.isoformat()})
