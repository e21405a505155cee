"""Console page of install invites: which channels are on, the program's options, invite
campaigns (quoted by the gateway before they start), and the funnel panel of the
dashboard."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import Response, flash, redirect, request, url_for
from werkzeug.exceptions import NotFound

from app.analytics.invites import FunnelRow, funnel
from app.loyalty.errors import ValidationError
from app.services import invite_campaigns, invites
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.forms import page, program_named
from app.web.console.texts import channel_off
from app.web.db import db, services
from app.web.i18n import _
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.loyalty.models import Program
    from app.messaging.models import InviteCampaign

ROLES = ("admin", "marketer")


def funnel_panel(program: Program, start: datetime, end: datetime) -> list[FunnelRow]:
    """The dashboard's invite funnel rows (the last one is the total)."""
    return funnel(db(), program.id, start, end)


def _money(minor: int | None) -> str:
    if minor is None:
        return _("no quote")
    return f"{minor / 100:,.2f}".replace(",", "\u00a0") + " ₽"


def _page(program: Program, status: int = 200, **extra: Any) -> Response:
    session = db()
    campaigns = invite_campaigns.latest(session, program)
    messaging = services().messaging
    context: dict[str, Any] = {
        "program": program,
        "quote_money": _money,
        "channels_on": messaging.channels_on,
        "off": {name: channel_off(why) for name, why in messaging.off.items()},
        "campaigns": [(c, invite_campaigns.progress(session, c.id)) for c in campaigns],
        "values": {"wallet": "none", "channel": "sms", "daily_budget": "500", "per_minute": "20"},
        "errors": {},
    }
    context.update(extra)
    return page("console/invites.html", status, **context)


def _back(slug: str) -> Response:
    return redirect(url_for("console.invite_page", slug=slug), code=303)  # type: ignore[return-value]


@bp.get("/programs/<slug>/invites")
@require(*ROLES)
def invite_page(slug: str) -> Response:
    return _page(program_named(db(), slug))


@bp.post("/programs/<slug>/invites/options")
@require(*ROLES)
def invite_options(slug: str) -> Response:
    program = program_named(db(), slug)
    if not csrf_valid():
        return _page(
            program,
            400,
            notice=_("The form has expired. Please check the values and send it again."),
        )
    try:
        invites.set_options(
            db(),
            services().clock,
            program,
            bool(request.form.get("invite_on_enroll")),
            request.form.get("invite_interval_days", ""),
            current_staff() or "console",
        )
    except ValidationError as exc:
        return _page(program, 422, errors=exc.fields, notice=_("Please correct the fields below."))
    flash(_("Saved."))
    return _back(slug)


def _int(name: str) -> int:
    raw = request.form.get(name, "").strip()
    return int(raw) if raw.isdigit() else 0


@bp.post("/programs/<slug>/invites")
@require(*ROLES)
def invite_create(slug: str) -> Response:
    values = {k: request.form.get(k, "") for k in ("name", "channel", "wallet")}
    values |= {k: request.form.get(k, "") for k in ("daily_budget", "per_minute")}
    wallet = values["wallet"]
    draft = invite_campaigns.Draft(
        name=values["name"],
        channel=values["channel"],
        segment={"wallet": wallet} if wallet else {},
        daily_budget=_int("daily_budget"),
        per_minute=_int("per_minute"),
    )
    svc = services()
    problem: dict[str, Any] = {}
    quote = None
    if not csrf_valid():
        problem = {
            "status": 400,
            "notice": _("The form has expired. Please check the values and send it again."),
        }
    elif draft.channel in ("sms", "email") and draft.channel not in svc.messaging.channels_on:
        why = channel_off(svc.messaging.off.get(draft.channel, ""))
        problem = {"status": 422, "notice": _("This channel is off: {why}.", why=why)}
    else:
        try:
            # The audience is read and the gateway asked for its price before the
            # request's write transaction opens (no lock held while the gateway answers).
            with svc.transaction(write=False) as read:
                total, sample = invite_campaigns.audience(
                    read, program_named(read, slug), draft, svc.clock.now(), svc.settings.public_url
                )
            quote = invite_campaigns.price(svc.messaging.sms, total, sample)
        except ValidationError as exc:
            problem = {
                "status": 422,
                "errors": exc.fields,
                "notice": _("Please correct the fields below."),
            }
    session = db()
    program = program_named(session, slug)
    if quote is None:
        return _page(program, problem.pop("status"), values=values, **problem)
    invite_campaigns.create(session, svc.clock, program, draft, quote, current_staff() or "console")
    flash(_("Quoted. Check the cost and start the campaign."))
    return _back(slug)


def _campaign(program: Program, campaign_id: int) -> InviteCampaign:
    campaign = invite_campaigns.of_program(db(), program, campaign_id)
    if campaign is None:
        raise NotFound()
    return campaign


@bp.post("/programs/<slug>/invites/<int:campaign_id>/start")
@require(*ROLES)
def invite_start(slug: str, campaign_id: int) -> Response:
    program = program_named(db(), slug)
    if csrf_valid():
        campaign = _campaign(program, campaign_id)
        try:
            at = invite_campaigns.start(
                db(), services().clock, campaign, current_staff() or "console"
            )
        except ValidationError as exc:
            flash("; ".join(exc.fields.values()))
        else:
            local = at.astimezone(ZoneInfo(program.timezone))
            flash(_("Sending starts at {at}.", at=local.strftime("%Y-%m-%d %H:%M")))
    return _back(slug)


@bp.post("/programs/<slug>/invites/<int:campaign_id>/cancel")
@require(*ROLES)
def invite_cancel(slug: str, campaign_id: int) -> Response:
    program = program_named(db(), slug)
    if csrf_valid():
        invite_campaigns.cancel(
            db(), services().clock, _campaign(program, campaign_id), current_staff() or "console"
        )
    return _back(slug)
