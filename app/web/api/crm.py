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
from app.bounds import DATE_RANGE, MAX_DAYS, date_in_range, whole_number
from app.campaigns.models import Campaign
from app.db import after_commit
from app.loyalty.errors import ValidationError
from app.loyalty.models import Program
from app.services import campaign_control, campaigns, programs, staff, staff_scope
from app.services.seed_kpis import seed_kpis
from app.staff.errors import ForbiddenError
from app.staff.models import StaffUser
from app.web.api import bp
from app.web.api.views import json_object
from app.web.db import db, services
from app.web.errors import json_error

_BEARER = re.compile(r"^Bearer\s+(\S+)\s*$")
CAMPAIGN_ROLES = ("admin", "marketer")
CAMPAIGN_FIELDS = {
    "name",
    "offer_en",
    "offer_ru",
    "offer_fallback_en",
    "offer_fallback_ru",
    "size_category",
    "segment",
    "bonus_points",
    "bonus_days",
    "holdout_percent",
    "send_at",
    "trigger",
    "trigger_days",
    "ends_at",
    "draft",
}


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


def read_draft(body: dict[str, Any], program: Program) -> campaigns.Draft:
    """A campaign's JSON fields as a Draft; 422 with every field's problem."""
    errors: dict[str, str] = {}
    moments: dict[str, datetime | None] = {}
    for name in ("send_at", "ends_at"):
        moments[name] = None
        if body.get(name) is not None:
            try:
                moments[name] = datetime.fromisoformat(str(body[name]))
                if moments[name].tzinfo is None:  # type: ignore[union-attr]
                    raise ValueError
            except ValueError:
                errors[name] = "must be an ISO 8601 date-time with a time zone"
    if not isinstance(body.get("name"), str):
        errors["name"] = "is required text"
    for lang in campaigns.LANGUAGES:
        name = f"offer_{lang}"
        needed = lang in campaigns.required_languages(program)
        if not isinstance(body.get(name, None if needed else ""), str):
            errors[name] = "is required text" if needed else "must be text"
    for name in ("offer_fallback_en", "offer_fallback_ru", "size_category", "trigger"):
        if body.get(name) is not None and not isinstance(body.get(name), str):
            errors[name] = "must be text"
    for name in ("bonus_points", "bonus_days"):
        value = body.get(name)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            errors[name] = "must be a whole number >= 0"
    days = body.get("trigger_days")
    if days is not None and (not isinstance(days, int) or isinstance(days, bool)):
        errors["trigger_days"] = "must be a whole number of days (negative: before)"
    holdout = body.get("holdout_percent", 10)
    if not isinstance(holdout, int | float) or isinstance(holdout, bool):
        errors["holdout_percent"] = "must be a number from 0 to 50"
    if not isinstance(body.get("segment", {}), dict):
        errors["segment"] = "must be an object of filters"
    if errors:
        raise ValidationError(errors)
    return campaigns.Draft(
        name=body["name"],
        offer_en=body.get("offer_en") or "",
        offer_ru=body.get("offer_ru") or "",
        segment=body.get("segment", {}),
        bonus_points=body.get("bonus_points") or 0,
        bonus_days=body.get("bonus_days"),
        holdout_percent=float(holdout),
        send_at=moments["send_at"],
        offer_fallback_en=body.get("offer_fallback_en"),
        offer_fallback_ru=body.get("offer_fallback_ru"),
        size_category=body.get("size_category"),
        trigger=body.get("trigger"),
        trigger_days=days,
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


@bp.post("/programs/<slug>/segments/size")
@staff_api(*CAMPAIGN_ROLES)
def segment_size(slug: str) -> Response:
    body = json_object()
    program = _program(slug)
    segment = body.get("segment", {})
    if not isinstance(segment, dict):
        raise ValidationError({"segment": "must be an object of filters"})
    return jsonify({"size": campaigns.segment_size(db(), program, segment, services().clock.now())})


@bp.post("/programs/<slug>/campaigns")
@staff_api(*CAMPAIGN_ROLES)
def create_campaign(slug: str) -> tuple[Response, int]:
    body = json_object()
    unknown = sorted(set(body) - CAMPAIGN_FIELDS)
    if unknown:
        raise ValidationError({name: "is not a campaign field" for name in unknown})
    if not isinstance(body.get("draft", False), bool):
        raise ValidationError({"draft": "must be true or false"})
    session = db()
    program = _program(slug)
    user: StaffUser = g.staff
    draft = read_draft(body, program)
    campaign = campaigns.create(
        session, services().clock, program, draft, user, confirm_first=body.get("draft", False)
    )
    if (
        campaign.status == "scheduled"
        and campaign.send_at is not None
        and (campaign.send_at <= services().clock.now())
    ):
        campaign.status = "sending"  # start now: the worker does the fan-out
        after_commit(session, functools.partial(services().queue.run_campaign, campaign.id))
    return jsonify(campaign_json(campaign)), 201


@bp.get("/campaigns/<id:campaign_id>")
@staff_api(*CAMPAIGN_ROLES)
def get_campaign(campaign_id: int) -> Response:
    campaign = db().get(Campaign, campaign_id)
    if campaign is None or not staff_scope.may_see(db(), g.staff, campaign.program_id):
        raise NotFound("no such campaign")
    body = campaign_json(campaign)
    if campaign.status == "sent":
        days = whole_number(request.args.get("days", "14"))
        if days is None:
            raise ValidationError({"days": f"must be a whole number from 1 to {MAX_DAYS}"})
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
@staff_api()
def get_kpis(slug: str) -> Response:
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
