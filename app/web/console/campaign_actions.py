"""Marketer actions on one campaign: the confirmation before sending, cancel, switching a
trigger off and on, and editing it. Each action is audited by its service."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Response, flash, redirect, request, url_for

from app.loyalty.errors import ValidationError
from app.services import campaign_control, campaign_reads
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.campaign_pages import card_previews, trigger_form, trigger_values
from app.web.console.campaign_views import _campaign, _when, parse_campaign
from app.web.console.forms import CAMPAIGN_ROLES, describe_segment, page
from app.web.console.texts import field_message, text_for
from app.web.db import db, services
from app.web.i18n import _, ngettext, number
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.campaigns.models import Campaign
    from app.loyalty.models import Program
    from app.staff.models import StaffUser


def _back(campaign: Campaign) -> Response:
    return redirect(  # type: ignore[return-value]
        url_for("console.campaign_page", campaign_id=campaign.id), code=303
    )


def _program(campaign: Campaign) -> Program:
    return campaign_reads.program_of(db(), campaign)


def _act(campaign_id: int, action: Callable[[Campaign, StaffUser], str]) -> Response:
    """A marketer's POST on one campaign: a fresh form, then the action; its message
    shows on the campaign's page, and so does a refusal."""
    campaign = _campaign(campaign_id)
    if not csrf_valid():
        flash(_("The form has expired. Please check the values and send it again."))
        return _back(campaign)
    user = current_staff()
    assert user is not None
    try:
        message = action(campaign, user)
    except ValidationError as error:
        return _refused(campaign, error)
    flash(message)
    return _back(campaign)


def _refused(campaign: Campaign, error: ValidationError) -> Response:
    if isinstance(error, campaign_control.StateError):
        flash(_("This cannot be done in the campaign's current state."))
    else:
        flash(" ".join(field_message(k, str(v)) for k, v in error.fields.items()))
    return _back(campaign)


@bp.get("/campaigns/<id:campaign_id>/confirm")
@require(*CAMPAIGN_ROLES)
def campaign_confirm_page(campaign_id: int) -> Response:
    campaign = _campaign(campaign_id)
    if campaign.status != "draft":
        return _back(campaign)
    program = _program(campaign)
    return page(
        "console/campaign_confirm.html",
        campaign=campaign,
        program=program,
        check=campaign_control.confirmation(db(), services().clock, campaign),
        min_arm=campaign_control.MIN_ARM,
        previews=card_previews(program, campaign),
        segment_lines=describe_segment(campaign.segment, program),
        when=lambda d: _when(d, program),
    )


@bp.post("/campaigns/<id:campaign_id>/confirm")
@require(*CAMPAIGN_ROLES)
def campaign_confirm(campaign_id: int) -> Response:
    def confirm(campaign: Campaign, user: StaffUser) -> str:
        asked = max(campaign.send_at or services().clock.now(), services().clock.now())
        campaign_control.confirm(db(), services().clock, services().queue, campaign, user)
        when = _when(campaign.send_at, _program(campaign))
        if campaign.status == "sending":
            return _("Confirmed: the campaign is on its way.")
        if campaign.send_at is not None and campaign.send_at > asked:
            return _(
                "Quiet hours: the campaign will be sent at {when}.", when=when
            )  # quiet hours moved it
        return _("Confirmed: scheduled for {when}.", when=when)

    return _act(campaign_id, confirm)


@bp.post("/campaigns/<id:campaign_id>/cancel")
@require(*CAMPAIGN_ROLES)
def campaign_cancel(campaign_id: int) -> Response:
    def cancel(campaign: Campaign, user: StaffUser) -> str:
        left = campaign_control.cancel(db(), services().clock, campaign, user)
        return ngettext(
            "Cancelled: {num} card will not get the offer.",
            "Cancelled: {num} cards will not get the offer.",
            left,
            num=number(left),
        )

    return _act(campaign_id, cancel)


@bp.post("/campaigns/<id:campaign_id>/pause")
@require(*CAMPAIGN_ROLES)
def campaign_pause(campaign_id: int) -> Response:
    return _switch(campaign_id, on=False)


@bp.post("/campaigns/<id:campaign_id>/resume")
@require(*CAMPAIGN_ROLES)
def campaign_resume(campaign_id: int) -> Response:
    return _switch(campaign_id, on=True)


def _switch(campaign_id: int, *, on: bool) -> Response:
    def switch(campaign: Campaign, user: StaffUser) -> str:
        action = campaign_control.resume if on else campaign_control.pause
        action(db(), services().clock, campaign, user)
        return text_for("trigger.switched_on" if on else "trigger.switched_off")

    return _act(campaign_id, switch)


@bp.get("/campaigns/<id:campaign_id>/edit")
@require(*CAMPAIGN_ROLES)
def campaign_edit_page(campaign_id: int) -> Response:
    campaign = _campaign(campaign_id)
    if campaign.trigger is None:
        return _back(campaign)
    program = _program(campaign)
    return trigger_form(program, trigger_values(campaign, program), {}, 200, campaign=campaign)


@bp.post("/campaigns/<id:campaign_id>/edit")
@require(*CAMPAIGN_ROLES)
def campaign_edit(campaign_id: int) -> Response:
    campaign = _campaign(campaign_id)
    program = _program(campaign)
    form = request.form.copy()
    form["trigger"] = campaign.trigger or ""
    if not csrf_valid():
        return trigger_form(
            program,
            form,
            {},
            400,
            notice=_("The form has expired. Please check the values and send it again."),
            campaign=campaign,
        )
    user = current_staff()
    assert user is not None
    draft, errors = parse_campaign(form, program)
    if draft is not None:
        try:
            campaign_control.edit_trigger(db(), services().clock, campaign, draft, user)
        except campaign_control.StateError as error:
            return _refused(campaign, error)
        except ValidationError as error:
            errors = {k: field_message(k, str(v)) for k, v in error.fields.items()}
        else:
            flash(_("Saved."))
            return _back(campaign)
    notice = _("Please correct the fields below.")
    return trigger_form(program, form, errors, 422, notice=notice, campaign=campaign)
