"""Campaigns: create, schedule around quiet hours, pick targets with a random holdout,
apply the offer card by card in chunks, follow progress, and report the uplift.

Launching only records the decision and enqueues ``run_campaign``; the worker does the
set-based work, so a campaign to 100 000 cards costs the console a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from app.bounds import MAX_DAYS, control_character_errors, strip_control_characters
from app.campaigns.models import TRIGGERS, Campaign, CampaignTarget
from app.campaigns.results import Arm
from app.campaigns.segments import Segment, card_ids, to_json
from app.campaigns.sizes import favourite_sizes
from app.clock import Clock
from app.db import draw_u32, sha256_u32
from app.loyalty import ledger
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Member, Program
from app.passes import placeholders
from app.passes.models import LIVE_PASS, WalletPass
from app.passes.sync import mark_changed
from app.services import campaign_launch, google_messages, webhook_events
from app.services.campaign_launch import CampaignQueue
from app.services.campaign_progress import Progress, Report, progress, progress_of, report
from app.services.staff import audit
from app.services.wallet_stats import card_in_wallet
from app.staff.models import StaffUser

CHUNK = 1000
OFFER_LIMIT = 200  # characters the card shows
# Re-exported: callers read progress and reports through this module.
__all__ = [
    "TRIGGERS",
    "Arm",
    "CampaignQueue",
    "Progress",
    "Report",
    "progress",
    "progress_of",
    "report",
]
# A sending campaign without progress for this long lost its run (its worker died): the
# minute's scheduler hands it to a worker again. Running it twice at once is safe.
STALLED_AFTER = timedelta(minutes=2)
MAX_SCHEDULE = timedelta(days=366)  # how far ahead a campaign may be scheduled


@dataclass(frozen=True)
class Draft:
    name: str
    offer_en: str
    offer_ru: str
    segment: dict[str, Any]
    bonus_points: int = 0
    bonus_days: int | None = None
    holdout_percent: float = 10.0
    send_at: datetime | None = None  # None: now (or when quiet hours end)
    trigger: str | None = None  # welcome | birthday | win_back: runs card by card, no segment
    # Shown instead of the offer to members whose {size} is unknown (needed with {size}).
    offer_fallback_en: str | None = None
    offer_fallback_ru: str | None = None
    size_category: str | None = None  # whose lines {size} reads (None: all)
    trigger_days: int | None = None  # birthday: days from the birthday (-3: three before)
    ends_at: datetime | None = None  # the offer leaves the cards then (None: it stays)


MAX_TRIGGER_DAYS = 30
LANGUAGES = ("ru", "en")


def required_languages(program: Program) -> tuple[str, ...]:
    """Offer texts a program must have: its own language. The other one is optional;
    a card whose member reads it shows the program's language instead."""
    return (program.default_locale if program.default_locale in LANGUAGES else "ru",)


def create(
    session: Session,
    clock: Clock,
    program: Program,
    draft: Draft,
    actor: StaffUser | str,
    *,
    confirm_first: bool = False,
) -> Campaign:
    """Store the campaign. ``confirm_first``: a one-off campaign waits as "draft" for
    its confirmation (``campaign_control.confirm``), a trigger starts switched off."""
    errors = check_draft(program, draft, clock.now())
    if errors:
        raise ValidationError(errors)
    now = clock.now()
    if draft.trigger:
        status = "stopped" if confirm_first else "active"
    else:
        status = "draft" if confirm_first else "scheduled"
    campaign = Campaign(program_id=program.id, created_by=_actor(actor), created_at=now)
    fill(campaign, draft)
    campaign.segment = to_json(Segment.from_json(draft.segment))
    campaign.status, campaign.trigger = status, draft.trigger
    campaign.send_at = None
    if status == "draft":
        campaign.send_at = draft.send_at  # None: when confirmed
    elif not draft.trigger:
        campaign.send_at = outside_quiet_hours(program, draft.send_at or now)
    session.add(campaign)
    session.flush()
    audit(
        session,
        clock,
        actor,
        "campaign.drafted" if status in ("draft", "stopped") else "campaign.scheduled",
        f"campaign:{campaign.id}",
        {"name": campaign.name},
    )
    return campaign


def _actor(actor: StaffUser | str) -> str:
    return actor.email if isinstance(actor, StaffUser) else actor


def fill(campaign: Campaign, draft: Draft) -> None:
    """The draft's texts, bonus, holdout and dates on the campaign (checked already)."""
    campaign.name = draft.name.strip()
    campaign.offer_en = draft.offer_en.strip()
    campaign.offer_ru = draft.offer_ru.strip()
    campaign.offer_fallback_en = (draft.offer_fallback_en or "").strip() or None
    campaign.offer_fallback_ru = (draft.offer_fallback_ru or "").strip() or None
    campaign.size_category = (draft.size_category or "").strip() or None
    campaign.bonus_points = draft.bonus_points
    campaign.bonus_days = draft.bonus_days
    campaign.holdout_bp = round(draft.holdout_percent * 100)
    campaign.trigger_days = draft.trigger_days if draft.trigger == "birthday" else None
    campaign.ends_at = draft.ends_at


def check_draft(program: Program, draft: Draft, now: datetime) -> dict[str, str]:
    """What is wrong with the draft, field -> message (empty: nothing)."""
    errors: dict[str, str] = {}
    Segment.from_json(draft.segment)  # raises ValidationError for unknown filters
    if not 1 <= len(draft.name.strip()) <= 120:
        errors["name"] = "is required (up to 120 characters)"
    needed = required_languages(program)
    for lang in LANGUAGES:
        text = getattr(draft, f"offer_{lang}").strip()
        if len(text) > OFFER_LIMIT or (lang in needed and not text):
            errors[f"offer_{lang}"] = "is required (up to 200 characters: it is shown on the card)"
    errors.update(_offer_problems(draft))
    fields = {"name": draft.name, "offer_en": draft.offer_en, "offer_ru": draft.offer_ru}
    errors.update(control_character_errors(fields))
    if draft.bonus_points < 0 or draft.bonus_points > 1_000_000:
        errors["bonus_points"] = "must be between 0 and 1 000 000"
    if draft.bonus_days is not None and not 1 <= draft.bonus_days <= MAX_DAYS:
        errors["bonus_days"] = f"must be between 1 and {MAX_DAYS} days, or none"
    if not 0 <= draft.holdout_percent <= 50:
        errors["holdout_percent"] = "must be between 0 and 50"
    if draft.send_at is not None and draft.send_at < now - timedelta(minutes=1):
        errors["send_at"] = "is in the past"
    elif draft.send_at is not None and draft.send_at > now + MAX_SCHEDULE:
        errors["send_at"] = "must be within a year from now"
    if draft.trigger is not None and draft.trigger not in TRIGGERS:
        errors["trigger"] = f"must be one of {', '.join(TRIGGERS)}"
    if draft.trigger_days is not None and (
        draft.trigger != "birthday" or abs(draft.trigger_days) > MAX_TRIGGER_DAYS
    ):
        errors["trigger_days"] = (
            f"must be from -{MAX_TRIGGER_DAYS} to {MAX_TRIGGER_DAYS} days (birthdays only)"
        )
    if draft.ends_at is not None:
        starts = max(draft.send_at or now, now)
        if draft.ends_at <= starts:
            errors["ends_at"] = "must be after the campaign starts"
        elif draft.ends_at > now + 2 * MAX_SCHEDULE:
            errors["ends_at"] = "must be within two years from now"
    return errors


def _offer_problems(draft: Draft) -> dict[str, str]:
    """Offers may name the member's {size}, and then need a fallback text (without
    placeholders) for members whose size is unknown."""
    errors: dict[str, str] = {}
    for lang in LANGUAGES:
        text = getattr(draft, f"offer_{lang}")
        fallback = (getattr(draft, f"offer_fallback_{lang}") or "").strip()
        problem = placeholders.check(text, placeholders.OFFER_PLACEHOLDERS)
        if problem is not None:
            errors[f"offer_{lang}"] = (
                f"{problem.written}: only {{size}} may be used ({problem.kind})"
            )
        elif placeholders.names(text) and not fallback:
            errors[f"offer_fallback_{lang}"] = "is required when the offer uses {size}"
        if len(fallback) > OFFER_LIMIT:
            errors[f"offer_fallback_{lang}"] = "must be at most 200 characters"
        elif fallback and placeholders.check(fallback, ()) is not None:
            errors[f"offer_fallback_{lang}"] = "must not use placeholders"
    if draft.size_category is not None and len(draft.size_category.strip()) > 200:
        errors["size_category"] = "must be at most 200 characters"
    return errors


def outside_quiet_hours(program: Program, when: datetime) -> datetime:
    """``when``, or the end of the program's quiet hours if it falls inside them."""
    zone = ZoneInfo(program.timezone)
    local = when.astimezone(zone)
    start, end = program.quiet_start_hour, program.quiet_end_hour
    quiet = (local.hour >= start or local.hour < end) if start > end else start <= local.hour < end
    if not quiet:
        return when
    wake = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if wake <= local:
        wake += timedelta(days=1)
    return wake.astimezone(when.tzinfo)


def segment_size(session: Session, program: Program, segment: dict[str, Any], now: datetime) -> int:
    query = card_ids(program.id, Segment.from_json(segment), now, card_in_wallet).subquery()
    return int(session.scalar(select(func.count()).select_from(query)) or 0)


def in_holdout(campaign_id: int, card_id: int, holdout_bp: int) -> bool:
    """A random but repeatable draw: the same card stays on the same side on a retry."""
    return draw_u32(f"{campaign_id}:{card_id}") % 10_000 < holdout_bp


def holdout_draw(
    campaign_id: int, card_id: ColumnElement[int], holdout_bp: int
) -> ColumnElement[bool]:
    """in_holdout computed by the database, for a whole audience in one statement."""
    key = literal(f"{campaign_id}:", String) + cast(card_id, String)
    return sha256_u32(key) % 10_000 < holdout_bp


def start_due(session: Session, clock: Clock, queue: CampaignQueue) -> list[int]:
    """Campaigns whose time has come, marked sending, and sending campaigns whose run
    stalled: handed to the worker after commit."""
    now = clock.now()
    due = list(
        session.scalars(
            select(Campaign)
            .where(Campaign.status == "scheduled", Campaign.send_at <= now)
            .with_for_update(skip_locked=True)
        )
    )
    for campaign in due:
        campaign_launch.start(session, clock, queue, campaign)
    session.flush()
    started = [c.id for c in due]
    for campaign_id in stalled(session, now):
        if campaign_id not in started:
            started.append(campaign_id)
            campaign_launch.hand_over(session, queue, campaign_id)
    return started


def stalled(session: Session, now: datetime) -> list[int]:
    """Sending campaigns with no progress (targets chosen, offers applied) for
    STALLED_AFTER: the task that ran them was lost with its worker."""
    last_applied = (
        select(func.max(CampaignTarget.applied_at))
        .where(CampaignTarget.campaign_id == Campaign.id)
        .correlate(Campaign)
        .scalar_subquery()
    )
    activity = func.coalesce(last_applied, Campaign.started_at, Campaign.send_at)
    return list(
        session.scalars(
            select(Campaign.id).where(
                Campaign.status == "sending",
                Campaign.trigger.is_(None),
                activity < now - STALLED_AFTER,
            )
        )
    )


def select_targets(session: Session, clock: Clock, campaign_id: int) -> int:
    """Snapshot the audience into campaign_targets (once); cards that had an offer within
    the program's frequency cap are kept but skipped. Returns the number of targets."""
    # The row lock makes a second run of the same campaign wait here, then see the targets.
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    assert campaign is not None
    existing = session.scalar(select(func.count()).where(CampaignTarget.campaign_id == campaign_id))
    # Cancelled before the worker came, or already sent (an audience of none included).
    if existing or campaign.status in ("cancelled", "sent"):
        return int(existing or 0)
    program = session.get(Program, campaign.program_id)
    assert program is not None
    now = clock.now()
    campaign.status, campaign.started_at = "sending", now
    # One INSERT ... SELECT: at a million members the audience never passes through
    # Python (700 k targets took 23 s as rows built here, 100 s on a busy machine).
    audience = card_ids(
        program.id, Segment.from_json(campaign.segment), now, card_in_wallet
    ).subquery()
    # Cards offered within the cap, joined once (an IN over a million of them would not
    # fit a hash in work_mem, and PostgreSQL would rescan it per card).
    recent = (
        select(CampaignTarget.card_id)
        .where(CampaignTarget.applied_at >= now - timedelta(days=program.frequency_cap_days))
        .distinct()
        .subquery()
    )
    rows = select(
        literal(campaign_id),
        audience.c.id,
        holdout_draw(campaign_id, audience.c.id, campaign.holdout_bp),
        case((recent.c.card_id.is_not(None), literal("frequency_cap", String))),
        literal(now, CampaignTarget.targeted_at.type),
    ).select_from(audience.outerjoin(recent, recent.c.card_id == audience.c.id))
    columns = ["campaign_id", "card_id", "holdout", "skipped", "targeted_at"]
    session.execute(insert(CampaignTarget).from_select(columns, rows))
    # Counted, not the cursor's rowcount: the ORM's INSERT ... SELECT gives -1 on psycopg.
    count = select(func.count()).where(CampaignTarget.campaign_id == campaign_id)
    return int(session.scalar(count) or 0)


def _unapplied(campaign_id: int) -> ColumnElement[bool]:
    return and_(
        CampaignTarget.campaign_id == campaign_id,
        CampaignTarget.holdout.is_(False),
        CampaignTarget.skipped.is_(None),
        CampaignTarget.applied_at.is_(None),
    )


def mark_failed(session: Session, clock: Clock, campaign_id: int, reason: str) -> None:
    """The worker gave up: no longer "sending" (cancelled), with the reason to show."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status in ("sent", "cancelled"):
        return
    campaign.status = "cancelled"
    campaign.failure_reason = strip_control_characters(reason)[:300]
    campaign.finished_at = clock.now()
    audit(
        session,
        clock,
        "worker",
        "campaign.failed",
        f"campaign:{campaign.id}",
        {"reason": reason[:300]},
    )


def next_chunk(session: Session, campaign_id: int) -> list[int]:
    """Target ids still to apply (not holdout, not skipped), locked for this transaction:
    two runs of one campaign take different chunks (PostgreSQL skips the locked rows;
    SQLite runs one writer at a time)."""
    return list(
        session.scalars(
            select(CampaignTarget.id)
            .where(_unapplied(campaign_id))
            .order_by(CampaignTarget.id)
            .limit(CHUNK)
            .with_for_update(skip_locked=True)
        )
    )


def capped(session: Session, program: Program, card_id: int, now: datetime) -> bool:
    """Whether the card already got an offer within the program's frequency cap."""
    since = now - timedelta(days=program.frequency_cap_days)
    return (
        session.scalar(
            select(CampaignTarget.id).where(
                CampaignTarget.card_id == card_id, CampaignTarget.applied_at >= since
            )
        )
        is not None
    )


def running(program_id: int, trigger: str, now: datetime) -> ColumnElement[bool]:
    """The program's campaigns of this trigger that run at ``now``."""
    return and_(
        Campaign.program_id == program_id,
        Campaign.trigger == trigger,
        Campaign.status == "active",
        Campaign.ends_at.is_(None) | (Campaign.ends_at > now),
    )


def fire_trigger(
    session: Session,
    clock: Clock,
    program_id: int,
    trigger: str,
    card_id: int,
    *,
    campaign_ids: Sequence[int] | None = None,
    occurrence: int | None = None,
) -> int:
    """Run the program's active campaigns of this trigger (or only ``campaign_ids``)
    for one card, in the caller's transaction: holdout drawn as usual, frequency cap
    respected, once per card (once a year for birthdays: ``occurrence`` is the year).
    Nothing for a member without a marketing consent. Returns how many
    campaigns applied an offer."""
    now = clock.now()
    applied = 0
    if not session.scalar(
        select(Member.marketing_consent)
        .join(Card, Card.member_id == Member.id)
        .where(Card.id == card_id, Card.status == "active")
    ):
        return 0  # advertising needs the marketing consent (and a live card)
    query = select(Campaign).where(running(program_id, trigger, now))
    if campaign_ids is not None:
        query = query.where(Campaign.id.in_(campaign_ids))
    active = session.scalars(query).all()
    if occurrence is None:
        occurrence = now.year if trigger == "birthday" else 0
    for campaign in active:
        # Once per card (a birthday: once a year); earlier rows stay, they are history.
        done = session.scalar(
            select(CampaignTarget.id).where(
                CampaignTarget.campaign_id == campaign.id,
                CampaignTarget.card_id == card_id,
                CampaignTarget.occurrence == occurrence,
            )
        )
        if done is not None:
            continue
        program = session.get(Program, program_id)
        assert program is not None
        target = CampaignTarget(
            campaign_id=campaign.id,
            card_id=card_id,
            holdout=in_holdout(campaign.id, card_id, campaign.holdout_bp),
            skipped="frequency_cap" if capped(session, program, card_id, now) else None,
            targeted_at=now,
            occurrence=occurrence,
        )
        session.add(target)
        session.flush()
        if not target.holdout and target.skipped is None:
            apply_chunk(session, clock, campaign.id, [target.id])
            applied += 1
    return applied


def apply_chunk(session: Session, clock: Clock, campaign_id: int, target_ids: list[int]) -> int:
    """Put the offer (and bonus) on these targets' cards and mark their passes changed."""
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    now = clock.now()
    card_ids_ = list(
        session.scalars(select(CampaignTarget.card_id).where(CampaignTarget.id.in_(target_ids)))
    )
    offers = offers_for(session, campaign, card_ids_)
    for (offer_en, offer_ru), cards in offers.items():
        session.execute(
            update(Card)
            .where(Card.id.in_(cards))
            .values(offer_en=offer_en, offer_ru=offer_ru, offer_campaign_id=campaign_id)
            .execution_options(synchronize_session=False)
        )
    if campaign.bonus_points:
        ledger.award_many(
            session,
            [(card_id, f"campaign:{campaign_id}:{card_id}") for card_id in card_ids_],
            points=campaign.bonus_points,
            kind="bonus",
            now=now,
            valid_days=campaign.bonus_days,
            reference=f"campaign:{campaign_id}",
        )
    pass_ids = list(
        session.scalars(select(WalletPass.id).where(WalletPass.card_id.in_(card_ids_), LIVE_PASS))
    )
    mark_changed(session, clock, pass_ids)
    # Google cards also get the offer as a message (notifying within Google's daily budget).
    brand = (
        session.scalar(select(Program.brand_name).where(Program.id == campaign.program_id)) or ""
    )
    for (offer_en, offer_ru), cards in offers.items():
        google_messages.queue_messages(
            session,
            clock,
            cards,
            f"campaign-{campaign_id}",
            {"en": brand, "ru": brand},
            {"en": offer_en, "ru": offer_ru},
        )
    versions = select(WalletPass.version).where(
        WalletPass.card_id == CampaignTarget.card_id, LIVE_PASS
    )
    session.execute(
        update(CampaignTarget)
        .where(CampaignTarget.id.in_(target_ids))
        .values(applied_at=now, pass_version=versions.scalar_subquery())
        .execution_options(synchronize_session=False)
    )
    return len(target_ids)


def _personal(campaign: Campaign) -> bool:
    return bool(placeholders.names(campaign.offer_en) | placeholders.names(campaign.offer_ru))


def offers_for(
    session: Session, campaign: Campaign, cards: Sequence[int]
) -> dict[tuple[str, str], list[int]]:
    """(offer en, offer ru) -> the cards that get it: one text for all, or, when the offer
    names {size}, each member's size filled in (the fallback where it is unknown)."""
    if not _personal(campaign):
        return {(offer_text(campaign, "en"), offer_text(campaign, "ru")): list(cards)}
    sizes = favourite_sizes(session, cards, campaign.size_category)
    out: dict[tuple[str, str], list[int]] = {}
    for card_id in cards:
        values = {"size": sizes.get(card_id)}
        texts = tuple(
            _fit(
                placeholders.render_offer(
                    offer_text(campaign, lang), offer_text(campaign, lang, fallback=True), values
                )
            )
            for lang in ("en", "ru")
        )
        out.setdefault((texts[0], texts[1]), []).append(card_id)
    return out


def offer_text(campaign: Campaign, lang: str, *, fallback: bool = False) -> str:
    """The campaign's offer (or its fallback) in ``lang``, or in the other language when
    the campaign has none in this one (a Russian-only program's English readers)."""
    kind = "offer_fallback" if fallback else "offer"
    other = "ru" if lang == "en" else "en"
    own = getattr(campaign, f"{kind}_{lang}") or ""
    if own or (campaign.offer_en and campaign.offer_ru):
        return str(own)
    return str(getattr(campaign, f"{kind}_{other}") or "")


def _fit(text: str) -> str:
    return text if len(text) <= OFFER_LIMIT else text[: OFFER_LIMIT - 1] + "…"


def finish(session: Session, clock: Clock, campaign_id: int) -> bool:
    """Mark the campaign sent, unless another run still holds chunks to apply (that
    run finishes it)."""
    if session.scalar(select(func.count()).where(_unapplied(campaign_id))):
        return False
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    if campaign.status != "sending":  # a second run (already told) or a cancelled one
        return True
    campaign.status, campaign.finished_at = "sent", clock.now()
    program = session.get(Program, campaign.program_id)
    assert program is not None
    counts = progress(session, campaign)
    webhook_events.emit(
        session,
        clock,
        program,
        "campaign.sent",
        {
            "campaign_id": campaign.id,
            "name": campaign.name,
            "trigger": campaign.trigger,
            "started_at": campaign.started_at.isoformat() if campaign.started_at else None,
            "finished_at": campaign.finished_at.isoformat(),
            "targets": counts.targets,
            "holdout": counts.holdout,
            "skipped": counts.skipped,
            "applied": counts.applied,
        },
    )
    return True
