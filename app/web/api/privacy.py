"""Staff API: a member's data (right of access) and erasure (right to erasure).

The member is addressed by card number, never by phone: a phone number in a URL would
end up in access logs.
"""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from app.loyalty.errors import ValidationError
from app.loyalty.models import Card
from app.services import erasure, member_export
from app.web.api import bp
from app.web.api.crm import _program, staff_api
from app.web.api.views import json_object
from app.web.db import db, services, write_db
from app.web.errors import json_error

EXPORT_ROLES = ("admin", "store_manager")
ERASE_ROLES = ("admin",)


def _card(slug: str, number: str) -> Card:
    program = _program(slug)
    card = db().scalar(select(Card).where(Card.program_id == program.id, Card.number == number))
    if card is None:
        raise NotFound("no such card")
    return card


@bp.get("/programs/<slug>/cards/<number>/member-data")
@staff_api(*EXPORT_ROLES)
def member_data(slug: str, number: str) -> Response:
    write_db()  # the download is audited
    card = _card(slug, number)
    data = member_export.export(db(), services().clock, card, g.staff, via="api")
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/programs/<slug>/cards/<number>/erase")
@staff_api(*ERASE_ROLES)
def erase_member(slug: str, number: str) -> Response:
    body = json_object()
    unknown = sorted(set(body) - {"confirm"})
    if unknown:
        raise ValidationError({name: "is not a field of this request" for name in unknown})
    card = _card(slug, number)
    if not erasure.confirmation_matches(card, body.get("confirm")):
        raise ValidationError({"confirm": "must be the card number (the typed confirmation)"})
    if card.member.erased_at is not None:
        return json_error(409, "already_erased", "the member's data was erased already")
    erasure.erase(db(), services().clock, card, g.staff)
    erased_at = card.member.erased_at
    assert erased_at is not None
    return jsonify({"card_number": card.number, "erased_at": erased_at.isoformat()})


def openapi_paths(op: Any, json: Any, path: Any, obj: Any, str_: Any) -> dict[str, Any]:
    """The OpenAPI entries of the privacy routes (merged into openapi.document)."""
    nullable = {"type": ["string", "null"]}
    export = {
        "type": "object",
        "description": "Everything held about the member: profile, consents (with the text "
        "version shown and its wording), card, ledger, receipts with refunds, wallet apps "
        "holding the card (no push tokens), Google Wallet save state, campaign targets, "
        "invites, lifecycle history. Never credentials: no push tokens, pass "
        "authentication token, barcode secret or card-page id.",
        "required": ["format", "exported_at", "member", "consents", "card", "ledger"],
        "properties": {
            "format": {"const": member_export.FORMAT},
            "exported_at": str_,
            "member": {"type": "object"},
            "consents": {"type": "object"},
            "card": {"type": "object"},
            "ledger": {"type": "array", "items": {"type": "object"}},
            "receipts": {"type": "array", "items": {"type": "object"}},
            "devices": {
                "type": "array",
                "items": obj(["wallet_app", "registered_at"], wallet_app=str_, registered_at=str_),
            },
            "google_wallet": {"type": ["object", "null"]},
            "campaigns": {"type": "array", "items": {"type": "object"}},
            "invites": {"type": "array", "items": {"type": "object"}},
            "stage_history": {"type": "array", "items": {"type": "object"}},
        },
    }
    return {
        "/api/v1/programs/{slug}/cards/{number}/member-data": {
            "get": op(
                "Everything held about the card's member, as JSON (right of access); audited. "
                "Roles admin, store_manager",
                json("200", "The member's data", export),
                401,
                403,
                404,
                security="staff",
                params=[path("slug"), path("number")],
            )
        },
        "/api/v1/programs/{slug}/cards/{number}/erase": {
            "post": op(
                "Erase the member's personal data (right to erasure): name, phone, e-mail, "
                "birthday go, the card stops working, the pass is voided and the Google "
                "object expired; receipts and points stay, anonymised. Role admin",
                json(
                    "200",
                    "Erased",
                    obj(["card_number", "erased_at"], card_number=str_, erased_at=nullable),
                ),
                400,
                401,
                403,
                404,
                409,
                415,
                422,
                security="staff",
                params=[path("slug"), path("number")],
                body=obj(["confirm"], confirm={**str_, "description": "the card number again"}),
            )
        },
    }
