"""Marketer pages: segments with a live size; campaigns (list, new, progress, report).

Launching stays cheap: the request stores the campaign and, when it is due now, marks it
sending and enqueues ``run_campaign`` after the commit; the worker does the fan-out.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import Response, abort, flash, jsonify, redirect, request, url_for

from app.bounds import date_in_range
from app.loyalty.errors import ValidationError
from app.services import campaign_control, campaign_reads, campaigns
from app.services.campaigns import MAX_TRIGGER_DAYS, TRIGGERS
from app.web.console import bp
from app.web.console.auth import current_staff, require
from app.web.console.campaign_pages import card_previews, trigger_form
from app.web.console.forms import (
    CAMPAIGN_ROLES,
    FormValues,
    all_programs,
    describe_segment,
    page,
    program_named,
    read_segment,
)
from app.web.console.texts import field_message, local_time, money, number, text_for
from app.web.db import db, services
from app.web.i18n import _
from app.web.security import csrf_valid

if TYPE_CHECKING:
    from app.campaigns.models import Campaign
    from app.loyalty.models import Program

LIVE = ("scheduled", "sending")
# A sent campaign's pushes may still be on their way: keep watching for this long.
PUSH_WATCH = timedelta(hours=1)
TEXT_LIMITS = {"name": 120, "offer_en": 200, "offer_ru": 200}
LIST_LIMIT = 100


@bp.get("/segments")
@require(*CAMPAIGN_ROLES)
def segments() -> Response:
    session = db()
    program = program_named(session, request.args.get("program"))
    segment, errors = read_segment(request.args)
    size = None
    if not errors:
        size = campaigns.segment_size(session, program, segment, services().clock.now())
    return page(
        "console/segments.html",
        422 if errors else 200,
        program=program,
        programs=all_programs(session),
        values=request.args,
        errors=errors,
        size=size,
        query=request.query_string.decode(),
    )


@bp.get("/segments/size")
@require(*CAMPAIGN_ROLES)
def segment_size() -> Response:
    session = db()
    program = program_named(session, request.args.get("program"))
    segment, errors = read_segment(request.args)
    if errors:
        response = jsonify(errors=errors)
        response.status_code = 422
        return response
    return jsonify(size=campaigns.segment_size(session, program, segment, services().clock.now()))


@bp.get("/campaigns")
@require(*CAMPAIGN_ROLES)
def campaign_list() -> Response:
    session = db()
    rows = campaign_reads.latest(session, all_programs(session), LIST_LIMIT)
    progress = campaigns.progress_of(session, [c for c, _ in rows])
    items = [(c, p, progress[c.id]) for c, p in rows]
    return page(
        "console/campaigns.html",
        items=items,
        programs=all_programs(session),
        percent_of=_percent,
    )


@bp.get("/campaigns/new")
@require(*CAMPAIGN_ROLES)
def campaign_new() -> Response:
    session = db()
    program = program_named(session, request.args.get("program"))
    if request.args.get("trigger"):
        if request.args["trigger"] not in TRIGGERS:
            abort(404)
        return trigger_form(program, request.args, {}, 200)
    segment, errors = read_segment(request.args)
    size = None
    if not errors:
        size = campaigns.segment_size(session, program, segment, services().clock.now())
    return _form_page(program, request.args, errors, 200, size=size)


@bp.post("/campaigns")
@require(*CAMPAIGN_ROLES)
def campaign_create() -> Response:
    session = db()
    program = program_named(session, request.form.get("program"))
    if not csrf_valid():
        return _form_page(
            program,
            request.form,
            {},
            400,
            notice=_("The form has expired. Please check the values and send it again."),
        )
    clock = services().clock
    user = current_staff()
    assert user is not None  # require() let us in
    draft, errors = parse_campaign(request.form, program)
    campaign = None
    if draft is not None:
        try:
            # Nothing is sent from here: a draft waits for its confirmation page, a
            # trigger starts switched off.
            campaign = campaign_control.create(
                session, clock, services().queue, program, draft, user, confirm_first=True
            )
        except ValidationError as error:
            errors = {k: field_message(k, str(v)) for k, v in error.fields.items()}
    if campaign is None or draft is None:
        if request.form.get("trigger"):
            return trigger_form(
                program, request.form, errors, 422, notice=_("Please correct the fields below.")
            )
        return _form_page(
            program, request.form, errors, 422, notice=_("Please correct the fields below.")
        )
    if campaign.trigger:
        flash(_("Created switched off: check the card below and switch it on."))
        target = url_for("console.campaign_page", campaign_id=campaign.id)
    else:
        target = url_for("console.campaign_confirm_page", campaign_id=campaign.id)
    return redirect(target, code=303)  # type: ignore[return-value]


def _campaign(campaign_id: int) -> Campaign:
    """The campaign, if it is in one of the user's programs; 404 otherwise."""
    user = current_staff()
    campaign = campaign_reads.visible(db(), user, campaign_id) if user else None
    if campaign is None:
        abort(404)
    return campaign


@bp.get("/campaigns/<id:campaign_id>")
@require(*CAMPAIGN_ROLES)
def campaign_page(campaign_id: int) -> Response:
    session = db()
    campaign = _campaign(campaign_id)
    program = campaign_reads.program_of(session, campaign)
    progress = campaigns.progress(session, campaign)
    report = None
    if campaign.status in ("sending", "sent") and progress.targets:
        report = campaigns.report(session, campaign, days=14)
    return page(
        "console/campaign.html",
        campaign=campaign,
        program=program,
        previews=card_previews(program, campaign),
        cancellable=campaign.status in campaign_control.CANCELLABLE,
        progress=progress,
        percent_done=_percent(progress),
        live=_live(campaign, progress),
        report=report,
        sentences=_uplift_sentences(report, program.currency) if report else [],
        segment_lines=describe_segment(campaign.segment, program),
        when=lambda d: _when(d, program),
    )


@bp.get("/campaigns/<id:campaign_id>/progress.json")
@require(*CAMPAIGN_ROLES)
def campaign_progress(campaign_id: int) -> Response:
    session = db()
    campaign = _campaign(campaign_id)
    p = campaigns.progress(session, campaign)
    return jsonify(
        status=p.status,
        status_text=text_for(f"status.{p.status}"),
        targets=p.targets,
        holdout=p.holdout,
        skipped=p.skipped,
        applied=p.applied,
        pushed=p.pushed,
        in_wallet=p.in_wallet,
        accepted=p.accepted,
        failed=p.failed,
        pruned=p.pruned,
        sendable=p.targets - p.holdout - p.skipped,
        percent=_percent(p),
        live=_live(campaign, p),
    )


def parse_campaign(
    form: FormValues, program: Program
) -> tuple[campaigns.Draft | None, dict[str, str]]:
    """The form as a Draft, or messages for what is not even a number or a date."""
    errors: dict[str, str] = {}

    def whole(name: str, empty: int | None, low: int, high: int) -> int | None:
        raw = (form.get(name) or "").strip().replace(" ", "")
        if not raw:
            return empty
        try:
            value = int(raw)
        except ValueError:
            errors[name] = _("Enter a whole number.")
            return empty
        if not low <= value <= high:
            errors[name] = field_message(name)
        return value

    trigger = form.get("trigger") or None
    if trigger is not None and trigger not in TRIGGERS:
        errors["trigger"] = field_message("trigger")
    trigger_days = whole("trigger_days", None, -MAX_TRIGGER_DAYS, MAX_TRIGGER_DAYS)
    ends_at = _local_moment(form, "ends_at", program, errors)
    bonus_points = whole("bonus_points", 0, 0, 1_000_000) or 0
    bonus_days = whole("bonus_days", None, 1, 3650)
    holdout = 10.0
    try:
        holdout = float((form.get("holdout_percent") or "").strip().replace(",", "."))
        if not math.isfinite(holdout):
            raise ValueError(holdout)
    except ValueError:
        errors["holdout_percent"] = _("Enter a number.")
    send_at = None
    if form.get("send") == "at" and trigger is None:
        send_at = _local_moment(form, "send_at", program, errors)
        if send_at is None and "send_at" not in errors:
            errors["send_at"] = _("Enter a date and time.")
    segment, segment_errors = read_segment(form)
    errors.update(segment_errors)
    if errors:
        # The domain checks these too; say it now so every problem shows at once.
        needed = campaigns.required_languages(program)
        for name, limit in TEXT_LIMITS.items():
            low = 0 if name.startswith("offer_") and name[-2:] not in needed else 1
            if not low <= len((form.get(name) or "").strip()) <= limit:
                errors[name] = field_message(name)
        return None, errors
    return (
        campaigns.Draft(
            name=form.get("name") or "",
            offer_en=form.get("offer_en") or "",
            offer_ru=form.get("offer_ru") or "",
            segment=segment,
            bonus_points=bonus_points,
            bonus_days=bonus_days,
            holdout_percent=holdout,
            send_at=send_at,
            offer_fallback_en=form.get("offer_fallback_en") or None,
            offer_fallback_ru=form.get("offer_fallback_ru") or None,
            size_category=form.get("size_category") or None,
            trigger=trigger,
            trigger_days=trigger_days if trigger == "birthday" else None,
            ends_at=ends_at,
        ),
        {},
    )


def _local_moment(
    form: FormValues, name: str, program: Program, errors: dict[str, str]
) -> datetime | None:
    """A datetime-local field read in the program's time zone (empty: None)."""
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        local = datetime.fromisoformat(raw)
        if not date_in_range(local):
            raise OverflowError(local)
    except ValueError:
        errors[name] = _("Enter a date and time.")
        return None
    except OverflowError:
        errors[name] = field_message("send_at.range")
        return None
    return local.replace(tzinfo=ZoneInfo(program.timezone)).astimezone(UTC)


def _form_page(
    program: Program,
    values: FormValues,
    errors: dict[str, str],
    status: int,
    *,
    notice: str | None = None,
    size: int | None = None,
) -> Response:
    now = services().clock.now()
    quiet = {
        "start": f"{program.quiet_start_hour:02d}:00",
        "end": f"{program.quiet_end_hour:02d}:00",
        "zone": program.timezone,
    }
    quiet_now = campaigns.outside_quiet_hours(program, now) != now
    return page(
        "console/campaign_new.html",
        status,
        program=program,
        programs=all_programs(db()),
        values=values,
        errors=errors,
        notice=notice,
        size=size,
        quiet=quiet,
        quiet_now=quiet_now,
        local_now=local_time(now, program.timezone).replace(" ", "T"),
        required=campaigns.required_languages(program),
    )


def _percent(p: campaigns.Progress) -> int:
    # Progress.percent is 100 for an empty audience; before targets are picked that reads
    # as "done", so a live campaign without targets shows 0.
    if p.status in LIVE and p.targets == 0:
        return 0
    return p.percent


def _live(campaign: Campaign, p: campaigns.Progress) -> bool:
    """Whether the page should keep polling: still sending, or pushes still landing."""
    if p.status in LIVE:
        return True
    recent = campaign.finished_at and services().clock.now() - campaign.finished_at < PUSH_WATCH
    return p.status == "sent" and _percent(p) < 100 and bool(recent)


def _when(moment: datetime | None, program: Program) -> str:
    return f"{local_time(moment, program.timezone)} ({program.timezone})"


def _uplift_sentences(report: campaigns.Report, currency: str) -> list[str]:
    if report.holdout.cards == 0:
        return [_("There is no holdout, so the uplift cannot be measured.")]
    if report.targets.purchases == 0 and report.holdout.purchases == 0:
        return [_("None of these cards has bought anything since the start yet.")]
    low, high = report.ci95
    values: dict[str, Any] = {
        "amount": money(abs(report.uplift_per_card), currency),
        "low": number(low / 100, 2),
        "high": money(high, currency),
    }
    key = "report.less" if report.uplift_per_card < 0 else "report.more"
    sentences = [text_for(key, **values)]
    if low <= 0 <= high:
        sentences.append(_("The interval includes zero: the difference may be chance so far."))
    return sentences
