"""Staff API actions on one campaign: confirm a draft, cancel, switch a trigger off and
on, and edit a trigger (PATCH). Same roles and program scope as the campaign routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, g, jsonify

from app.services import campaign_control, campaign_reads
from app.web.api import bp
from app.web.api import schemas as s
from app.web.api.crm import (
    STAFF_ERRORS,
    campaign_json,
    campaign_operation,
    read_draft,
    visible_campaign,
)
from app.web.contract import parse_body
from app.web.db import db, services

# Fields a PATCH may set to null; null elsewhere keeps the value.
CLEARABLE = {"ends_at", "bonus_days", "offer_fallback_en", "offer_fallback_ru"}
ACTION_ERRORS = (*STAFF_ERRORS, 409)  # 409 wrong_state: not a draft, not a trigger...


def _action(summary: str, **contract: Any) -> Callable[[F], F]:
    return campaign_operation(summary, {200: s.CampaignAnswer}, errors=ACTION_ERRORS, **contract)


F = TypeVar("F", bound=Callable[..., Any])


@bp.post("/campaigns/<id:campaign_id>/confirm")
@_action("Confirm a draft: it is scheduled, or starts sending now")
def confirm_campaign(campaign_id: int) -> Response:
    campaign = visible_campaign(campaign_id)
    campaign_control.confirm(db(), services().clock, services().queue, campaign, g.staff)
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<id:campaign_id>/cancel")
@_action("Cancel: no more cards get the offer; offered cards keep it until the end")
def cancel_campaign(campaign_id: int) -> Response:
    campaign = visible_campaign(campaign_id)
    left = campaign_control.cancel(db(), services().clock, campaign, g.staff)
    return jsonify({**campaign_json(campaign), "left_unsent": left})


@bp.post("/campaigns/<id:campaign_id>/pause")
@_action("Switch a triggered campaign off")
def pause_campaign(campaign_id: int) -> Response:
    campaign = visible_campaign(campaign_id)
    campaign_control.pause(db(), services().clock, campaign, g.staff)
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<id:campaign_id>/resume")
@_action("Switch a triggered campaign on")
def resume_campaign(campaign_id: int) -> Response:
    campaign = visible_campaign(campaign_id)
    campaign_control.resume(db(), services().clock, campaign, g.staff)
    return jsonify(campaign_json(campaign))


@bp.patch("/campaigns/<id:campaign_id>")
@_action(
    "Edit a triggered campaign (texts, bonus, holdout, day, end date)", body=s.CampaignEditBody
)
def edit_campaign(campaign_id: int) -> Response:
    sent = parse_body(s.CampaignEditBody).model_dump(exclude_unset=True)
    body = {k: v for k, v in sent.items() if v is not None or k in CLEARABLE}
    campaign = visible_campaign(campaign_id)
    program = campaign_reads.program_of(db(), campaign)
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
