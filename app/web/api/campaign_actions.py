"""Staff API actions on one campaign: confirm a draft, cancel, switch a trigger off and
on, and edit a trigger (PATCH). Same roles and program scope as the campaign routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, g, jsonify
from werkzeug.exceptions import NotFound

from app.campaigns.models import Campaign
from app.loyalty.models import Program
from app.services import campaign_control, staff_scope
from app.web.api import bp
from app.web.api import schemas as s
from app.web.api.crm import CAMPAIGN_ROLES, STAFF_ERRORS, campaign_json, read_draft, staff_api
from app.web.contract import operation, parse_body
from app.web.db import db, services

# Fields a PATCH may set to null; null elsewhere keeps the value.
CLEARABLE = {"ends_at", "bonus_days", "offer_fallback_en", "offer_fallback_ru"}
ACTION_ERRORS = (*STAFF_ERRORS, 409)  # 409 wrong_state: not a draft, not a trigger...


def _action(summary: str) -> Callable[[F], F]:
    return operation(summary, ok={200: s.CampaignAnswer}, errors=ACTION_ERRORS, security="staff")


F = TypeVar("F", bound=Callable[..., Any])


def _campaign(campaign_id: int) -> Campaign:
    campaign = db().get(Campaign, campaign_id)
    if campaign is None or not staff_scope.may_see(db(), g.staff, campaign.program_id):
        raise NotFound("no such campaign")
    return campaign


@bp.post("/campaigns/<id:campaign_id>/confirm")
@_action("Confirm a draft: it is scheduled, or starts sending now")
@staff_api(*CAMPAIGN_ROLES)
def confirm_campaign(campaign_id: int) -> Response:
    campaign = _campaign(campaign_id)
    campaign_control.confirm(db(), services().clock, services().queue, campaign, g.staff)
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<id:campaign_id>/cancel")
@_action("Cancel: no more cards get the offer; offered cards keep it until the end")
@staff_api(*CAMPAIGN_ROLES)
def cancel_campaign(campaign_id: int) -> Response:
    campaign = _campaign(campaign_id)
    left = campaign_control.cancel(db(), services().clock, campaign, g.staff)
    return jsonify({**campaign_json(campaign), "left_unsent": left})


@bp.post("/campaigns/<id:campaign_id>/pause")
@_action("Switch a triggered campaign off")
@staff_api(*CAMPAIGN_ROLES)
def pause_campaign(campaign_id: int) -> Response:
    campaign = _campaign(campaign_id)
    campaign_control.pause(db(), services().clock, campaign, g.staff)
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<id:campaign_id>/resume")
@_action("Switch a triggered campaign on")
@staff_api(*CAMPAIGN_ROLES)
def resume_campaign(campaign_id: int) -> Response:
    campaign = _campaign(campaign_id)
    campaign_control.resume(db(), services().clock, campaign, g.staff)
    return jsonify(campaign_json(campaign))


@bp.patch("/campaigns/<id:campaign_id>")
@operation(
    "Edit a triggered campaign (texts, bonus, holdout, day, end date)",
    body=s.CampaignEditBody,
    ok={200: s.CampaignAnswer},
    errors=ACTION_ERRORS,
    security="staff",
)
@staff_api(*CAMPAIGN_ROLES)
def edit_campaign(campaign_id: int) -> Response:
    sent = parse_body(s.CampaignEditBody).model_dump(exclude_unset=True)
    body = {k: v for k, v in sent.items() if v is not None or k in CLEARABLE}
    campaign = _campaign(campaign_id)
    program = db().get(Program, campaign.program_id)
    assert program is not None
    current: dict[str, Any] = {
        "name": campaign.name,
        "offer_en": campaign.offer_en,
        "offer_ru": campaign.offer_ru,
        "offer_fallback_en": campaign.offer_fallback_en,
        "offer_fallback_ru": campaign.offer_fallback_ru,
        "bonus_points": campaign.bonus_points,
        "bonus_days": campaign.bonus_days,
        "holdout_percent": campaign.holdout_bp / 100,
        "trigger_days": campaign.trigger_days,
        "ends_at": campaign.ends_at.isoformat() if campaign.ends_at else None,
        "trigger": campaign.trigger,
    }
    draft = read_draft({**current, **body}, program)
    campaign_control.edit_trigger(db(), services().clock, campaign, draft, g.staff)
    return jsonify(campaign_json(campaign))
