"""Pieces shared by the campaign pages: the card previews with a campaign's offer, and
the form of a triggered campaign (new or edited)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response

from app.passes import placeholders
from app.services import campaigns, design
from app.web.console.design_views import _preview_url
from app.web.console.forms import FormValues, page
from app.web.console.texts import local_time

if TYPE_CHECKING:
    from app.campaigns.models import Campaign
    from app.loyalty.models import Program


def card_previews(program: Program, campaign: Campaign) -> dict[str, str]:
    """Image URLs of the Apple and Google card as it will look with the campaign's offer
    (the design page's server-drawn previews; a personal offer shows its fallback)."""
    values = design.design_form(program)
    for lang in ("ru", "en"):
        text = campaigns.offer_text(campaign, lang)
        fallback = campaigns.offer_text(campaign, lang, fallback=True) or None
        values[f"offer_{lang}"] = placeholders.render_offer(text, fallback, {})
    return {wallet: _preview_url(program, wallet, values) for wallet in design.WALLETS}


def trigger_form(
    program: Program,
    values: FormValues | dict[str, str],
    errors: dict[str, str],
    status: int,
    *,
    notice: str | None = None,
    campaign: Campaign | None = None,
) -> Response:
    return page(
        "console/campaign_trigger.html",
        status,
        program=program,
        values=values,
        errors=errors,
        notice=notice,
        campaign=campaign,
        trigger=values.get("trigger") or (campaign.trigger if campaign else None),
        required=campaigns.required_languages(program),
    )


def trigger_values(campaign: Campaign, program: Program) -> dict[str, str]:
    """A trigger's saved values, as its edit form shows them."""
    ends = local_time(campaign.ends_at, program.timezone)
    return {
        "trigger": campaign.trigger or "",
        "name": campaign.name,
        "offer_ru": campaign.offer_ru,
        "offer_en": campaign.offer_en,
        "offer_fallback_ru": campaign.offer_fallback_ru or "",
        "offer_fallback_en": campaign.offer_fallback_en or "",
        "bonus_points": str(campaign.bonus_points),
        "bonus_days": "" if campaign.bonus_days is None else str(campaign.bonus_days),
        "holdout_percent": f"{campaign.holdout_bp / 100:g}",
        "trigger_days": str(campaign.trigger_days or 0),
        "ends_at": "" if campaign.ends_at is None else ends.replace(" ", "T"),
    }
