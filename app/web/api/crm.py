"""Staff API for a CRM: segments, campaigns, KPIs (`Authorization: Bearer <staff token>`)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Response, g, jsonify, request
from pydantic import BaseModel
from werkzeug.exceptions import NotFound

from app.analytics.kpis import kpis
from app.bounds import DATE_RANGE, date_in_range
from app.loyalty.errors import ValidationError
from app.services import campaign_control, campaign_reads, campaigns, programs, staff, staff_scope
from app.services.seed_kpis import seed_kpis
from app.staff.errors import ForbiddenError
from app.web.api import bp
from app.web.api import schemas as s
from app.web.contract import json_object, operation, parse_body, parse_query
from app.web.db import db, services
from app.web.errors import json_error

if TYPE_CHECKING:
    from app.campaigns.models import Campaign
    from app.loyalty.models import Program
    from app.staff.models import StaffUser

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


def read_draft(fields: dict[str, Any], program: Program) -> campaigns.Draft:
    """A campaign's fields (typed and bounded by its body model) as a Draft; 422 for what
    the model cannot know: the program's own language and real dates."""
    errors: dict[str, str] = {}
    moments: dict[str, datetime | None] = {}
    for name in ("send_at", "ends_at"):
        moments[name] = None
        if fields.get(name) is not None:
            try:
                moments[name] = datetime.fromisoformat(str(fields[name]))
            except ValueError:
                errors[name] = "must be an ISO 8601 date-time with a time zone"
    for lang in campaigns.required_languages(program):
        if not fields.get(f"offer_{lang}"):
            errors[f"offer_{lang}"] = "is required text"
    if errors:
        raise ValidationError(errors)
    holdout = fields.get("holdout_percent")
    return campaigns.Draft(
        name=fields["name"],
        offer_en=fields.get("offer_en") or "",
        offer_ru=fields.get("offer_ru") or "",
        segment=fields.get("segment") or {},
        bonus_points=fields.get("bonus_points") or 0,
        bonus_days=fields.get("bonus_days"),
        holdout_percent=float(10 if holdout is None else holdout),
        send_at=moments["send_at"],
        offer_fallback_en=fields.get("offer_fallback_en"),
        offer_fallback_ru=fields.get("offer_fallback_ru"),
        size_category=fields.get("size_category"),
        trigger=fields.get("trigger"),
        trigger_days=fields.get("trigger_days"),
        ends_at=moments["ends_at"],
    )


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    progress = campaigns.progress(db(), campaign)
    out = {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.state,
        "failure_reason": campaign.failure_reason,
        "trigger": campaign.trigger,
        "trigger_days": campaign.trigger_days,
        "send_at": campaign.send_at.isoformat() if campaign.send_at else None,
        "ends_at": campaign.ends_at.isoformat() if campaign.ends_at else None,
        "holdout_percent": campaign.holdout_bp / 100,
        "progress": {
            "targets": progress.targets,
            "holdout": progress.holdout,
            "skipped": progress.skipped,
            "applied": progress.applied,
            "pushed": progress.pushed,
            "in_wallet": progress.in_wallet,
            "percent": progress.percent,
        },
    }
    if campaign.status == "draft":
        check = campaign_control.confirmation(db(), services().clock, campaign)
        out["confirmation"] = {**vars(check), "min_arm": campaign_control.MIN_ARM}
    return out


STAFF_ERRORS = (401, 403, 404)


def campaign_operation(
    summary: str,
    ok: Mapping[int, type[BaseModel] | None],
    *,
    errors: tuple[int, ...] = STAFF_ERRORS,
    **contract: Any,
) -> Callable[[F], F]:
    """A marketer's route: its contract (staff token) over the role check."""

    def decorate(view: F) -> F:
        guarded = staff_api(*CAMPAIGN_ROLES)(view)
        return operation(summary, ok=ok, errors=errors, security="staff", **contract)(guarded)

    return decorate


def visible_campaign(campaign_id: int) -> Campaign:
    """The campaign, if the token's user works on its program; 404 otherwise."""
    campaign = campaign_reads.visible(db(), g.staff, campaign_id)
    if campaign is None:
        raise NotFound("no such campaign")
    return campaign


@bp.post("/programs/<slug>/segments/size")
@campaign_operation(
    "Count the cards a segment matches", {200: s.SizeAnswer}, body=s.SegmentSizeBody
)
def segment_size(slug: str) -> Response:
    body = parse_body(s.SegmentSizeBody)
    program = _program(slug)
    segment = _segment(body.segment)
    return jsonify({"size": campaigns.segment_size(db(), program, segment, services().clock.now())})


def _segment(segment: s.Segment | None) -> dict[str, Any]:
    return segment.model_dump(exclude_none=True) if segment is not None else {}


def _campaign_body(program: Program) -> s.CampaignBody:
    """The body; the offer in the program's own language is required, in the same 422."""
    raw = json_object()
    missing = {
        f"offer_{lang}": "is required text"
        for lang in campaigns.required_languages(program)
        if not raw.get(f"offer_{lang}")
    }
    try:
        body = parse_body(s.CampaignBody)
    except ValidationError as error:
        raise ValidationError({**missing, **error.fields}) from None
    if missing:
        raise ValidationError(missing)
    return body


@bp.post("/programs/<slug>/campaigns")
@campaign_operation(
    "Schedule or start a campaign (the worker fans it out); with draft: true it waits "
    "for POST /campaigns/{id}/confirm (a trigger starts off)",
    {201: s.CampaignAnswer},
    body=s.CampaignBody,
    links={
        201: {
            "FollowProgress": {
                "operationId": "api.get_campaign",
                "parameters": {"campaign_id": "$response.body#/id"},
            }
        }
    },
)
def create_campaign(slug: str) -> tuple[Response, int]:
    program = _program(slug)
    body = _campaign_body(program)
    user: StaffUser = g.staff
    fields = body.model_dump(exclude={"segment", "draft"})
    draft = read_draft({**fields, "segment": _segment(body.segment)}, program)
    svc = services()
    campaign = campaign_control.create(
        db(), svc.clock, svc.queue, program, draft, user, confirm_first=body.draft
    )
    return jsonify(campaign_json(campaign)), 201


@bp.get("/campaigns/<id:campaign_id>")
@campaign_operation(
    "Progress, and the report once sent", {200: s.CampaignAnswer}, query=s.CampaignQuery
)
def get_campaign(campaign_id: int) -> Response:
    days = parse_query(s.CampaignQuery).days
    campaign = visible_campaign(campaign_id)
    body = campaign_json(campaign)
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
