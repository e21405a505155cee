"""The OpenAPI 3.1 document of the JSON APIs, served at /api/v1/openapi.json.

A test checks it is a valid OpenAPI document and that it lists every /api route
the app registers, so it cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from app.campaigns.segments import STAGES, WALLETS
from app.web.api import bp, invites, privacy, webhooks


def _obj(required: list[str], **props: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": required,
        "properties": props,
        "additionalProperties": False,
    }


STR, INT, NUM, BOOL = (
    {"type": "string"},
    {"type": "integer"},
    {"type": "number"},
    {"type": "boolean"},
)
NINT = {"type": ["integer", "null"]}
ERROR = {"$ref": "#/components/schemas/Error"}
SEGMENT_REF = {"$ref": "#/components/schemas/Segment"}
_COUNT = {"type": ["integer", "null"], "minimum": 0}
SEGMENT = {
    "type": "object",
    "description": "Filters over the program's active cards, combined with AND.",
    "properties": {
        "stages": {"type": "array", "items": {"enum": list(STAGES)}},
        "tiers": {"type": "array", "items": STR},
        "birthday_month": {"type": ["integer", "null"], "minimum": 1, "maximum": 12},
        "store_id": _COUNT,
        "last_purchase_within_days": _COUNT,
        "no_purchase_for_days": _COUNT,
        "min_spend": _COUNT,
        "max_spend": _COUNT,
        "bought": {
            "type": "array",
            "maxItems": 10,
            "items": {"$ref": "#/components/schemas/LineFilter"},
            "description": "Bought lines matching each filter (all of them).",
        },
        "not_bought": {
            "type": "array",
            "maxItems": 10,
            "items": {"$ref": "#/components/schemas/LineFilter"},
            "description": "Bought no line matching any of these filters.",
        },
        "wallet": {
            "enum": [*WALLETS, None],
            "description": "Where the card is now: one wallet app by name, apple (= "
            "apple_wallet), google, android_pkpass (any Android .pkpass app), any or none.",
        },
    },
    "additionalProperties": False,
}


_TEXT200 = {"type": "string", "minLength": 1, "maxLength": 200}
LINE_FILTER = {
    "type": "object",
    "description": "Receipt lines with all the given values (exact text), bought within the "
    "last within_days days (omitted: ever). At least one of category, size, sku.",
    "properties": {
        "category": _TEXT200,
        "size": _TEXT200,
        "sku": _TEXT200,
        "within_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650},
    },
    "additionalProperties": False,
}
_SHARE = {"type": ["number", "null"]}
_INTERVAL = {"type": "array", "items": NUM, "minItems": 2, "maxItems": 2}
KPIS = {
    "type": "object",
    "description": "Figures of the period [from, to). Amounts are minor units; shares 0-1 "
    "or null when undefined. card_adoption is as of now.",
    "properties": {
        "from": STR,
        "to": STR,
        "loyal_buyers": INT,
        "loyal_buyers_previous": INT,
        "loyal_buyers_change": _SHARE,
        "loyal_revenue": INT,
        "loyal_revenue_share": _SHARE,
        "card_purchases": INT,
        "repeat_purchases": INT,
        "repeat_purchase_share": _SHARE,
        "loyal_rule": _obj(["min_purchases", "window_days"], min_purchases=INT, window_days=INT),
        "card_adoption": {
            "type": "object",
            "properties": {
                "members": INT,
                "installed": INT,
                "share": _SHARE,
                "by_wallet_app": {
                    "type": "object",
                    "additionalProperties": _obj(["cards", "share"], cards=INT, share=_SHARE),
                },
            },
        },
        "automated_revenue": {
            "type": "object",
            "description": "Revenue attributed to triggered communications: targets chosen "
            "in the period, each measured for attribution_days from its targeting (cut at "
            "the period end) against its campaign's holdout; ci95 is the 95 % interval.",
            "properties": {
                "attribution_days": INT,
                "revenue": NUM,
                "ci95": _INTERVAL,
                "by_source": {
                    "type": "object",
                    "additionalProperties": _obj(
                        ["targets", "holdout", "revenue", "ci95", "campaigns_without_holdout"],
                        targets=INT,
                        holdout=INT,
                        revenue=NUM,
                        ci95=_INTERVAL,
                        campaigns_without_holdout=INT,
                    ),
                },
            },
        },
    },
}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Malformed body",
        401: "Missing or wrong credentials",
        403: "Role not allowed",
        404: "Not found",
        409: "Conflict",
        413: "Body too large",
        415: "Not JSON",
        422: "Invalid fields (see error.fields)",
        429: "Rate limited",
    }
    return {
        str(c): {"description": text[c], "content": {"application/json": {"schema": ERROR}}}
        for c in codes
    }


def _op(
    summary: str,
    ok: dict[str, Any],
    *errors: int,
    body: dict[str, Any] | None = None,
    security: str | None = None,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**ok, **_errors(*errors)}}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if security:
        op["security"] = [{security: []}]
    if params:
        op["parameters"] = params
    return op


def _json(status: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        status: {"description": description, "content": {"application/json": {"schema": schema}}}
    }


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": STR}


def _query(name: str, schema: dict[str, Any] = STR) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


DISPLAY = {
    "type": "object",
    "additionalProperties": STR,
    "description": "the same figures as text in the answer's language (Accept-Language, "
    "else the program's), money with the currency sign, e.g. 1 338,00 ₽",
}
PURCHASE = _obj(
    ["receipt_id", "amount"],
    receipt_id=STR,
    amount=INT,
    barcode=STR,
    redeem_points=INT,
    lines={"type": "array", "items": {"type": "object"}},
)
PURCHASE_RESULT = _obj(
    ["receipt_id", "discount_amount", "points_redeemed", "points_earned", "balance", "amount_due"],
    receipt_id=STR,
    card_number={"type": ["string", "null"]},
    discount_amount=INT,
    points_redeemed=INT,
    points_earned=INT,
    balance=NINT,
    amount_due=INT,
    display=DISPLAY,
)
REFUND_RESULT = _obj(
    [
        "refund_id",
        "receipt_id",
        "amount",
        "money_back",
        "points_returned",
        "points_taken_back",
        "points_shortfall",
        "balance",
    ],
    refund_id=STR,
    receipt_id=STR,
    amount=INT,
    money_back=INT,
    points_returned=INT,
    points_taken_back=INT,
    points_shortfall=INT,
    balance=NINT,
    display=DISPLAY,
)
QUOTE_RESULT = _obj(
    ["amount", "discount_amount", "redeemable_max", "amount_due", "points_earned", "display"],
    card_number={"type": ["string", "null"]},
    member_name={"type": ["string", "null"]},
    tier_name={"type": ["string", "null"]},
    scanned={**BOOL, "description": "the card's barcode was presented (only then points pay)"},
    amount=INT,
    discount_percent=NUM,
    discount_amount=INT,
    redeemable_max={**INT, "description": "points this purchase would accept as payment"},
    points_redeemed=INT,
    amount_due=INT,
    points_earned=INT,
    balance=NINT,
    balance_after=NINT,
    display=DISPLAY,
)
RECENT_RECEIPTS = _obj(
    ["receipts", "timezone"],
    receipts={
        "type": "array",
        "items": _obj(
            ["receipt_id", "created_at", "amount", "refunded", "refundable"],
            receipt_id=STR,
            created_at=STR,
            card_number={"type": ["string", "null"]},
            amount=INT,
            amount_due=INT,
            points_redeemed=INT,
            points_earned=INT,
            refunded=INT,
            refundable=INT,
            display=DISPLAY,
        ),
    },
    timezone=STR,
)
CAMPAIGN = {
    "type": "object",
    "properties": {
        "id": INT,
        "name": STR,
        "status": STR,
        "failure_reason": {
            "type": ["string", "null"],
            "description": "Why the worker gave up (status failed)",
        },
        "trigger": {"enum": ["welcome", "birthday", "win_back", None]},
        "trigger_days": NINT,
        "send_at": {"type": ["string", "null"]},
        "ends_at": {
            "type": ["string", "null"],
            "description": "After it the offer leaves the cards that still show it",
        },
        "holdout_percent": NUM,
        "progress": {
            "type": "object",
            "description": "targets, holdout, skipped, applied; in_wallet: targets to "
            "send whose card is in a wallet (any app or Google); pushed: of those, "
            "offered and delivered (cards in no wallet reach no phone)",
        },
        "confirmation": {
            "type": "object",
            "description": "Drafts only: audience, in_wallet, targets, holdout (expected "
            "cards), holdout_too_small (an arm under min_arm cards cannot measure), min_arm",
        },
        "left_unsent": INT,
        "report": {"type": "object"},
    },
}


def _campaign_actions() -> dict[str, Any]:
    summaries = {
        "confirm": "Confirm a draft: it is scheduled, or starts sending now",
        "cancel": "Cancel: no more cards get the offer; offered cards keep it until the end",
        "pause": "Switch a triggered campaign off",
        "resume": "Switch a triggered campaign on",
    }
    return {
        f"/api/v1/campaigns/{{campaign_id}}/{action}": {
            "post": _op(
                summary,
                _json("200", "Campaign", CAMPAIGN),
                401,
                403,
                404,
                409,
                422,
                security="staff",
                params=[{**_path("campaign_id"), "schema": INT}],
            )
        }
        for action, summary in summaries.items()
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "walletpass",
            "version": "1",
            "description": "Enrollment, till (POS) and CRM APIs. Amounts are minor units.",
        },
        "components": {
            "securitySchemes": {
                "terminal": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "terminal key (wpt_…)",
                },
                "staff": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "staff API token (wps_…)",
                },
            },
            "schemas": {
                "Segment": SEGMENT,
                "LineFilter": LINE_FILTER,
                "Error": _obj(
                    ["error"],
                    error={
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {"code": STR, "message": STR, "fields": {"type": "object"}},
                    },
                ),
            },
        },
        "paths": {
            "/api/v1/programs/{slug}/enrollments": {
                "post": _op(
                    "Enroll a shopper: member, card and wallet pass",
                    _json(
                        "201",
                        "Enrolled",
                        _obj(["card", "links"], card={"type": "object"}, links={"type": "object"}),
                    ),
                    400,
                    404,
                    409,
                    413,
                    415,
                    422,
                    429,
                    body=_obj(
                        ["name", "phone", "consent"],
                        name=STR,
                        phone=STR,
                        birthday=STR,
                        email=STR,
                        locale={"enum": ["ru", "en"]},
                        consent=BOOL,
                        marketing_consent=BOOL,
                    ),
                    params=[_path("slug")],
                )
            },
            "/api/pos/v1/pair": {
                "post": _op(
                    "Trade a one-time pairing code (the console's QR code) for a new till's key",
                    _json(
                        "201",
                        "Paired: the key, shown this once",
                        _obj(
                            ["key", "name", "program", "store"],
                            key=STR,
                            name=STR,
                            program=STR,
                            store={"type": ["string", "null"]},
                        ),
                    ),
                    400,
                    415,
                    422,
                    429,
                    body=_obj(["code"], code=STR),
                )
            },
            "/api/pos/v1/terminal": {
                "get": _op(
                    "The terminal the key belongs to",
                    _json("200", "Terminal", {"type": "object"}),
                    401,
                    security="terminal",
                )
            },
            "/api/pos/v1/cards/{code}": {
                "get": _op(
                    "Look a card up by its scanned code or number",
                    _json("200", "Card", {"type": "object"}),
                    401,
                    404,
                    422,
                    security="terminal",
                    params=[_path("code"), _query("amount", INT)],
                )
            },
            "/api/pos/v1/purchases": {
                "post": _op(
                    "Record a purchase (idempotent per terminal and receipt_id)",
                    {
                        **_json("201", "Recorded", PURCHASE_RESULT),
                        **_json("200", "Replay", PURCHASE_RESULT),
                    },
                    400,
                    401,
                    404,
                    409,
                    413,
                    415,
                    422,
                    body=PURCHASE,
                    security="terminal",
                )
            },
            "/api/pos/v1/quotes": {
                "post": _op(
                    "What a purchase with this body would do, recording nothing "
                    "(refused with the same error codes as the purchase)",
                    _json("200", "Quote", QUOTE_RESULT),
                    400,
                    401,
                    404,
                    409,
                    413,
                    415,
                    422,
                    body={**PURCHASE, "required": ["amount"]},
                    security="terminal",
                )
            },
            "/api/pos/v1/receipts": {
                "get": _op(
                    "This terminal's latest receipts, newest first, with what is left to refund",
                    _json("200", "Receipts", RECENT_RECEIPTS),
                    401,
                    422,
                    security="terminal",
                    params=[_query("limit", {**INT, "minimum": 1, "maximum": 50, "default": 10})],
                )
            },
            "/api/pos/v1/refunds": {
                "post": _op(
                    "Record a refund (idempotent per terminal and refund_id)",
                    {
                        **_json("201", "Recorded", REFUND_RESULT),
                        **_json("200", "Replay", REFUND_RESULT),
                    },
                    400,
                    401,
                    404,
                    409,
                    415,
                    422,
                    security="terminal",
                    body=_obj(
                        ["receipt_id", "refund_id"], receipt_id=STR, refund_id=STR, amount=INT
                    ),
                )
            },
            "/api/pos/v1/decode": {
                "post": _op(
                    "Read a QR code from a camera frame",
                    _json("200", "Code", _obj(["code"], code={"type": ["string", "null"]})),
                    400,
                    401,
                    413,
                    security="terminal",
                )
            },
            "/api/v1/programs/{slug}/segments/size": {
                "post": _op(
                    "Count the cards a segment matches",
                    _json("200", "Size", _obj(["size"], size=INT)),
                    400,
                    401,
                    403,
                    404,
                    422,
                    security="staff",
                    params=[_path("slug")],
                    body=_obj([], segment=SEGMENT_REF),
                )
            },
            "/api/v1/programs/{slug}/campaigns": {
                "post": _op(
                    "Schedule or start a campaign (the worker fans it out); with draft: "
                    "true it waits for POST /campaigns/{id}/confirm (a trigger starts off). "
                    "trigger: welcome | birthday | win_back (no segment, runs card by card); "
                    "the offer in the program's own language is required, the other optional",
                    _json("201", "Campaign", CAMPAIGN),
                    400,
                    401,
                    403,
                    404,
                    422,
                    security="staff",
                    params=[_path("slug")],
                    body=_obj(
                        ["name"],
                        name=STR,
                        offer_en=STR,
                        offer_ru=STR,
                        offer_fallback_en=STR,
                        offer_fallback_ru=STR,
                        size_category=STR,
                        segment=SEGMENT_REF,
                        bonus_points=INT,
                        bonus_days=INT,
                        holdout_percent=NUM,
                        send_at=STR,
                        ends_at=STR,
                        trigger={"enum": ["welcome", "birthday", "win_back"]},
                        trigger_days={"type": "integer", "minimum": -30, "maximum": 30},
                        draft=BOOL,
                    ),
                )
            },
            **_campaign_actions(),
            "/api/v1/campaigns/{campaign_id}": {
                "get": _op(
                    "Progress, and the report once sent",
                    _json("200", "Campaign", CAMPAIGN),
                    401,
                    403,
                    404,
                    security="staff",
                    params=[{**_path("campaign_id"), "schema": INT}, _query("days", INT)],
                ),
                "patch": _op(
                    "Edit a triggered campaign (texts, bonus, holdout, day, end date)",
                    _json("200", "Campaign", CAMPAIGN),
                    400,
                    401,
                    403,
                    404,
                    409,
                    422,
                    security="staff",
                    params=[{**_path("campaign_id"), "schema": INT}],
                    body=_obj(
                        [],
                        name=STR,
                        offer_en=STR,
                        offer_ru=STR,
                        offer_fallback_en=STR,
                        offer_fallback_ru=STR,
                        bonus_points=INT,
                        bonus_days=NINT,
                        holdout_percent=NUM,
                        trigger_days=INT,
                        ends_at={"type": ["string", "null"]},
                    ),
                ),
            },
            "/api/v1/programs/{slug}/kpis": {
                "get": _op(
                    "KPIs of a period",
                    _json("200", "KPIs", KPIS),
                    401,
                    404,
                    422,
                    security="staff",
                    params=[_path("slug"), _query("from"), _query("to")],
                )
            },
            **invites.openapi_paths(_op, _json, _path, _query, _obj, STR, INT, BOOL),
            **webhooks.openapi_paths(_op, _json, _path, _obj, STR, INT, BOOL),
            **privacy.openapi_paths(_op, _json, _path, _obj, STR),
        },
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(document())
