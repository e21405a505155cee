"""Campaigns done safely: the confirmation before anything is sent (audience, holdout and
whether it can measure anything), cancel before or during sending, switching triggers off
and on, editing them, end dates that take the offer off the cards, and birthday triggers
some days before or after the birthday.

Cancelling marks every target not yet applied as skipped ("cancelled"); a worker in the
middle of the campaign takes its chunks from those rows with ``FOR UPDATE SKIP LOCKED``,
so the UPDATE waits for the chunk in flight to commit and the worker then finds nothing
left to apply. Cards already offered keep the offer until the end date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignTarget
from app.campaigns.segments import Segment, card_ids
from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, Program
from app.passes.models import WalletPass
from app.passes.sync import mark_changed
from app.services import campaign_launch, campaigns, jobs
from app.services.staff import audit
from app.services.wallet_stats import card_in_wallet
from app.staff.models import StaffUser

# Below this many cards in the holdout (or in the targets), the difference in revenue per
# card is lost in the noise: with purchase rates of a few percent, ~100 cards per arm see
# a handful of purchases each, and the 95 % interval spans several times any plausible
# uplift. The rule is deliberately simple and said on the page.
MIN_ARM = 100
CANCELLABLE = ("draft", "scheduled", "sending", "active", "stopped")


class StateError(ValidationError):
    """The campaign is not in a state that allows this action."""

    code = "wrong_state"

    def __init__(self, message: str) -> None:
        super().__init__({"status": message})


@dataclass(frozen=True)
class Confirmation:
    audience: int  # cards the segment matches now
    in_wallet: int  # of them, cards in a wallet (only those can show the offer)
    holdout: int  # expected holdout cards
    targets: int  # expected cards to get the offer
    holdout_too_small: bool  # fewer than MIN_ARM cards in an arm (or no holdout)


def confirmation(session: Session, clock: Clock, campaign: Campaign) -> Confirmation:
    now = clock.now()
    query = card_ids(campaign.program_id, Segment.from_json(campaign.segment), now, card_in_wallet)
    counted = query.subquery()
    audience = int(session.scalar(select(func.count()).select_from(counted)) or 0)
    in_wallet = int(
        session.scalar(
            select(func.count()).select_from(query.where(card_in_wallet("any")).subquery())
        )
        or 0
    )
    holdout = round(audience * campaign.holdout_bp / 10_000)
    return Confirmation(
        audience=audience,
        in_wallet=in_wallet,
        holdout=holdout,
        targets=audience - holdout,
        holdout_too_small=min(holdout, audience - holdout) < MIN_ARM,
    )


def create(
    session: Session,
    clock: Clock,
    queue: campaigns.CampaignQueue,
    program: Program,
    draft: campaigns.Draft,
    actor: StaffUser | str,
    *,
    confirm_first: bool,
) -> Campaign:
    """Store a campaign (``campaigns.create``); one scheduled for now starts sending at
    once. With ``confirm_first`` it waits for ``confirm`` (a trigger starts off)."""
    campaign = campaigns.create(session, clock, program, draft, actor, confirm_first=confirm_first)
    campaign_launch.start_if_due(session, clock, queue, campaign)
    return campaign


def confirm(
    session: Session,
    clock: Clock,
    queue: campaigns.CampaignQueue,
    campaign: Campaign,
    actor: StaffUser | str,
) -> Campaign:
    """A draft becomes scheduled (its time, or now, out of quiet hours); when that is
    now it starts sending and the worker gets it after commit."""
    if campaign.status != "draft":
        raise StateError("only a draft waits for confirmation")
    program = session.get(Program, campaign.program_id)
    assert program is not None
    now = clock.now()
    if campaign.ends_at is not None and campaign.ends_at <= now:
        raise ValidationError({"ends_at": "has passed: cancel and create the campaign again"})
    send_at = campaigns.outside_quiet_hours(program, max(campaign.send_at or now, now))
    campaign.send_at, campaign.status = send_at, "scheduled"
    campaign_launch.start_if_due(session, clock, queue, campaign)
    _audit(session, clock, actor, "campaign.confirmed", campaign)
    session.flush()
    return campaign


def cancel(session: Session, clock: Clock, campaign: Campaign, actor: StaffUser | str) -> int:
    """Stop the campaign: nothing more is applied. Returns how many targets were left
    unsent."""
    if campaign.status not in CANCELLABLE:
        raise StateError("only a campaign not yet finished can be cancelled")
    left = _skip_unapplied(session, campaign.id, "cancelled")
    campaign.status, campaign.finished_at = "cancelled", clock.now()
    _audit(session, clock, actor, "campaign.cancelled", campaign, left=left)
    session.flush()
    return left


def _skip_unapplied(session: Session, campaign_id: int, why: str) -> int:
    # Waits for rows a worker holds (their chunk commits first), then skips the rest.
    result = session.execute(
        update(CampaignTarget)
        .where(
            CampaignTarget.campaign_id == campaign_id,
            CampaignTarget.holdout.is_(False),
            CampaignTarget.skipped.is_(None),
            CampaignTarget.applied_at.is_(None),
        )
        .values(skipped=why)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def pause(session: Session, clock: Clock, campaign: Campaign, actor: StaffUser | str) -> None:
    if campaign.trigger is None or campaign.status != "active":
        raise StateError("only a running trigger can be switched off")
    campaign.status = "stopped"
    _audit(session, clock, actor, "campaign.paused", campaign)


def resume(session: Session, clock: Clock, campaign: Campaign, actor: StaffUser | str) -> None:
    if campaign.trigger is None or campaign.status != "stopped":
        raise StateError("only a trigger that is off can be switched on")
    if campaign.ends_at is not None and campaign.ends_at <= clock.now():
        raise ValidationError({"ends_at": "has passed: set a later end date first"})
    campaign.status = "active"
    _audit(session, clock, actor, "campaign.resumed", campaign)


def edit_trigger(
    session: Session,
    clock: Clock,
    campaign: Campaign,
    draft: campaigns.Draft,
    actor: StaffUser | str,
) -> None:
    """New texts, bonus, holdout, day or end date for a trigger (running or off); the
    cards already offered keep what they got."""
    if campaign.trigger is None or campaign.status not in ("active", "stopped"):
        raise StateError("only a trigger that is on or off can be edited")
    program = session.get(Program, campaign.program_id)
    assert program is not None
    draft = campaigns.Draft(**{**vars(draft), "trigger": campaign.trigger, "send_at": None})
    errors = campaigns.check_draft(program, draft, clock.now())
    if errors:
        raise ValidationError(errors)
    campaigns.fill(campaign, draft)
    campaign.offers_cleared_at = None  # a new end date clears again
    _audit(session, clock, actor, "campaign.edited", campaign)
    session.flush()


def clear_ended(session: Session, clock: Clock) -> list[int]:
    """Campaigns past their end date: remaining sends stop, and the offer leaves every
    card that still shows it (their passes are marked changed: pushed after commit)."""
    now = clock.now()
    ended = list(
        session.scalars(
            select(Campaign)
            .where(
                Campaign.ends_at <= now,
                Campaign.offers_cleared_at.is_(None),
                Campaign.status != "draft",
            )
            .with_for_update(skip_locked=True)
        )
    )
    for campaign in ended:
        if campaign.status in ("scheduled", "sending"):
            _skip_unapplied(session, campaign.id, "ended")
            campaign.status, campaign.finished_at = "cancelled", now
        elif campaign.status == "active":
            campaign.status = "stopped"
        cards = list(session.scalars(select(Card.id).where(Card.offer_campaign_id == campaign.id)))
        for start in range(0, len(cards), campaigns.CHUNK):
            chunk = cards[start : start + campaigns.CHUNK]
            session.execute(
                update(Card)
                .where(Card.id.in_(chunk))
                .values(offer_en=None, offer_ru=None, offer_campaign_id=None)
                .execution_options(synchronize_session=False)
            )
            passes = session.scalars(select(WalletPass.id).where(WalletPass.card_id.in_(chunk)))
            mark_changed(session, clock, list(passes))
        campaign.offers_cleared_at = now
        _audit(session, clock, "worker", "campaign.ended", campaign, cleared=len(cards))
    session.flush()
    return [c.id for c in ended]


def fire_birthdays(session: Session, clock: Clock, program: Program, today: date) -> int:
    """Each active birthday trigger of the program for the cards whose birthday is its
    number of days from today (once per card per birthday). Returns offers applied."""
    applied = 0
    active = session.scalars(
        select(Campaign).where(
            Campaign.program_id == program.id,
            Campaign.trigger == "birthday",
            Campaign.status == "active",
        )
    ).all()
    for campaign in active:
        birthday = today - timedelta(days=campaign.trigger_days or 0)
        for card_id in jobs.birthday_cards(session, program, birthday):
            applied += campaigns.fire_trigger(
                session,
                clock,
                program.id,
                "birthday",
                card_id,
                campaign_ids=[campaign.id],
                occurrence=birthday.year,
            )
    return applied


def _audit(
    session: Session,
    clock: Clock,
    actor: StaffUser | str,
    action: str,
    campaign: Campaign,
    **details: object,
) -> None:
    audit(
        session, clock, actor, action, f"campaign:{campaign.id}", {"name": campaign.name, **details}
    )
