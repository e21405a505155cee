"""Staff API: the invite funnel (sent -> opened -> installed -> first purchase)."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from flask import Response, jsonify
from pydantic import Field

from app.analytics.invites import funnel
from app.services import programs
from app.web.api import bp
from app.web.api.crm import _date, staff_api
from app.web.api.schemas import PeriodQuery
from app.web.contract import Answer, operation, parse_query
from app.web.db import db, services


class Step(Answer):
    channel: Literal["sms", "email", "all"]
    source: Literal["site", "till", "import", "console", "all"]
    sent: int
    opened: int
    installed: int
    first_purchase: int


class Funnel(Answer):
    from_: str = Field(alias="from")
    to: str
    rows: list[Step]
    total: Step
    channels: dict[str, Literal["on", "off"]]


@bp.get("/programs/<slug>/invites/funnel")
@operation(
    "The invite funnel of a period by channel and source (invites sent in it)",
    query=PeriodQuery,
    ok={200: Funnel},
    errors=(401, 404),
    security="staff",
)
@staff_api()
def get_invite_funnel(slug: str) -> Response:
    parse_query(PeriodQuery)
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
