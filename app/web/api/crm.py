"""Staff API for a CRM: segments, campaigns, KPIs (`Authorization: Bearer <staff token>`)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from flask import Response, g, jsonify, request
from werkzeug.exceptions import NotFound

from app.analytics.kpis import kpis
from app.bounds import DATE_RANGE, date_in_range
from app.campaigns.models import Campaign
from app.db import after_commit
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program
from app.services import campaigns, programs, staff, staff_scope
from app.services.seed_kpis import seed_kpis
from app.staff.errors import ForbiddenError
from app.staff.models import StaffUser
from app.web.api import bp
from app.web.api import schemas as s
from app.web.contract import operation, parse_body, parse_query
from app.web.db import db, services
from app.web.errors import json_error

_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$")
CAMPAIGN_ROLES = ("admin", "marketer")


F = TypeVar("F", bound=Callable[..., Any])


def staff_api(*roles: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            match = _BEARER.match(request.headers.get("Authorization", ""))
            user = staff.user_for_token(db(), match.group(1) if match else None)
            if user is None:
                response = json_error(401, "unauthorized", "missing, unknown or revoked API token")
                response.headers["WWW-Authenticate"] = 'Bearer realm="walletpass"'
                return response
            if roles and user.role not in roles:
                raise ForbiddenError(user.role)
            g.staff = user
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def _program(slug: str) -> Program:
    """The program, if the token's user works on it; 404 otherwise (as if unknown)."""
    program = programs.get_program(db(), slug)
    if not staff_scope.may_see(db(), g.staff, program.id):
        raise NotFound("no such program")
    return program


def _date(name: str, default: datetime) -> datetime:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = datetime.fromisoformat(raw).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationError({name: "must be a date YYYY-MM-DD"}) from None
    if not date_in_range(value):
        raise ValidationError({name: f"must be a date within {DATE_RANGE}"})
    return value


def _campaign_json(campaign: Campaign) -> dict[str, Any]:
    progress = campaigns.progress(db(), campaign)
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.state,
        "failure_reason": campaign.failure_reason,
        "send_at": campaign.send_at.isoformat() if campaign.send_at else None,
        "holdout_percent": campaign.holdout_bp / 100,
        "progress": {
            "targets": progress.targets,
            "holdout": progress.holdout,
            "skipped": progress.skipped,
            "applied": progress.applied,
            "pushed": progress.pushed,
            "percent": progress.percent,
        },
    }


STAFF_ERRORS = (401, 403, 404)


@bp.post("/programs/<slug>/segments/size")
@operation(
    "Count the cards a segment matches",
    body=s.SegmentSizeBody,
    ok={200: s.SizeAnswer},
    errors=STAFF_ERRORS,
    security="staff",
)
@staff_api(*CAMPAIGN_ROLES)
def segment_size(slug: str) -> Response:
    body = parse_body(s.SegmentSizeBody)
    program = _program(slug)
    segment = _segment(body.segment)
    return jsonify({"size": campaigns.segment_size(db(), program, segment, services().clock.now())})


def _segment(segment: s.Segment | None) -> dict[str, Any]:
    return segment.model_dump(exclude_none=True) if segment is not None else {}


@bp.post("/programs/<slug>/campaigns")
@operation(
    "Schedule or start a campaign (the worker fans it out)",
    body=s.CampaignBody,
    ok={201: s.CampaignAnswer},
    errors=STAFF_ERRORS,
    security="staff",
    links={
        201: {
            "FollowProgress": {
                "operationId": "api.get_campaign",
                "parameters": {"campaign_id": "$response.body#/id"},
            }
        }
    },
)
@staff_api(*CAMPAIGN_ROLES)
def create_campaign(slug: str) -> tuple[Response, int]:
    body = parse_body(s.CampaignBody)
    send_at = None
    if body.send_at is not None:
        try:
            send_at = datetime.fromisoformat(body.send_at)
        except ValueError:
            raise ValidationError({"send_at": "must be an ISO 8601 date-time"}) from None
    session = db()
    program = _program(slug)
    user: StaffUser = g.staff
    draft = campaigns.Draft(
        name=body.name,
        offer_en=body.offer_en,
        offer_ru=body.offer_ru,
        segment=_segment(body.segment),
        bonus_points=body.bonus_points or 0,
        bonus_days=body.bonus_days,
        holdout_percent=body.holdout_percent,
        send_at=send_at,
        offer_fallback_en=body.offer_fallback_en,
        offer_fallback_ru=body.offer_fallback_ru,
        size_category=body.size_category,
    )
    campaign = campaigns.create(session, services().clock, program, draft, user)
    if campaign.send_at is not None and campaign.send_at <= services().clock.now():
        campaign.status = "sending"  # start now: the worker does the fan-out
        after_commit(session, functools.partial(services().queue.run_campaign, campaign.id))
    return jsonify(_campaign_json(campaign)), 201


@bp.get("/campaigns/<id:campaign_id>")
@operation(
    "Progress, and the report once sent",
    query=s.CampaignQuery,
    ok={200: s.CampaignAnswer},
    errors=STAFF_ERRORS,
    security="staff",
)
@staff_api(*CAMPAIGN_ROLES)
def get_campaign(campaign_id: int) -> Response:
    days = parse_query(s.CampaignQuery).days
    campaign = db().get(Campaign, campaign_id)
    if campaign is None or not staff_scope.may_see(db(), g.staff, campaign.program_id):
        raise NotFound("no such campaign")
    body = _campaign_json(campaign)
    if campaign.status == "sent":
        report = campaigns.report(db(), campaign, days=days)
        body["report"] = {
            "days": report.days,
            "targets": vars(report.targets),
            "holdout": vars(report.holdout),
            "uplift_per_card": report.uplift_per_card,
            "ci95": list(report.ci95),
        }
    return jsonify(body)


@bp.get("/programs/<slug>/kpis")
@operation(
    "KPIs of a period",
    query=s.PeriodQuery,
    ok={200: s.KpisAnswer},
    errors=(401, 404),
    security="staff",
)
@staff_api()
def get_kpis(slug: str) -> Response:
    parse_query(s.PeriodQuery)
    program = _program(slug)
    now = services().clock.now()
    end = _date("to", now)
    start = _date("from", end - timedelta(days=30))
    return jsonify(
        {
            "from": start.date().isoformat(),
            "to": end.date().isoformat(),
            **vars(kpis(db(), program, start, end)),
            **seed_kpis(db(), program, start, end).as_json(),
        }
    )
