"""Staff API: the invite funnel (sent -> opened -> installed -> first purchase)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, jsonify

from app.analytics.invites import funnel
from app.services import programs
from app.web.api import bp
from app.web.api.crm import _date, staff_api
from app.web.db import db, services


@bp.get("/programs/<slug>/invites/funnel")
@staff_api()
def get_invite_funnel(slug: str) -> Response:
    program = programs.get_program(db(), slug)
    now = services().clock.now()
    end = _date("to", now)
    start = _date("from", end - timedelta(days=30))
    rows = funnel(db(), program.id, start, end)
    return jsonify(
        {
            "from": start.date().isoformat(),
            "to": end.date().isoformat(),
            "rows": [r.as_json() for r in rows[:-1]],
            "total": rows[-1].as_json(),
            "channels": {
                name: ("on" if name in services().messaging.channels_on else "off")
                for name in ("sms", "email")
            },
        }
    )


def openapi_paths(
    op: Any, json: Any, path: Any, query: Any, obj: Any, str_: Any, int_: Any, bool_: Any
) -> dict[str, Any]:
    """The OpenAPI entries of the invite routes (merged into openapi.document)."""
    step = obj(
        ["channel", "source", "sent", "opened", "installed", "first_purchase"],
        channel={"enum": ["sms", "email", "all"]},
        source={"enum": ["site", "till", "import", "console", "all"]},
        sent=int_,
        opened=int_,
        installed=int_,
        first_purchase=int_,
    )
    enrolled = obj(
        ["card", "invite"],
        card=obj(["number", "barcode"], number=str_, barcode=str_),
        invite={"enum": ["sent", "off", "not_requested"]},
    )
    return {
        "/api/pos/v1/enrollments": {
            "post": op(
                "Enroll a shopper at the till by phone; the barcode works on this receipt, "
                "the install link goes by SMS after the commit",
                json("201", "Enrolled", enrolled),
                400,
                401,
                409,
                413,
                415,
                422,
                429,
                security="terminal",
                body=obj(
                    ["phone", "consent"],
                    phone=str_,
                    name=str_,
                    consent={"const": True},
                    send_invite=bool_,
                ),
            )
        },
        "/api/v1/programs/{slug}/invites/funnel": {
            "get": op(
                "The invite funnel of a period by channel and source (invites sent in it)",
                json(
                    "200",
                    "Funnel",
                    obj(
                        ["from", "to", "rows", "total", "channels"],
                        **{"from": str_, "to": str_},
                        rows={"type": "array", "items": step},
                        total=step,
                        channels={"type": "object"},
                    ),
                ),
                401,
                404,
                422,
                security="staff",
                params=[path("slug"), query("from"), query("to")],
            )
        },
    }
