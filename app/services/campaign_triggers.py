"""A trigger fired for many cards at once (the daily job's win-back): what
``campaigns.fire_trigger`` does card by card, a chunk of cards per statement."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignTarget
from app.clock import Clock
from app.loyalty.models import Card, Member, Program
from app.services import campaigns

CHUNK = 1_000


def fire_trigger_many(
    session: Session,
    clock: Clock,
    program_id: int,
    trigger: str,
    card_ids: Sequence[int],
    *,
    occurrence: int | None = None,
) -> int:
    """``fire_trigger`` for each of the cards, in the caller's transaction, with the same
    targets: only cards with a live card and the advertising consent, once per card and
    occurrence, the holdout drawn per card, the frequency cap counting the offers this
    call applied for an earlier campaign. Returns how many offers were applied."""
    now = clock.now()
    active = session.scalars(
        select(Campaign).where(campaigns.running(program_id, trigger, now)).order_by(Campaign.id)
    ).all()
    if not card_ids or not active:
        return 0
    card_ids = sorted(set(card_ids))
    program = session.get(Program, program_id)
    assert program is not None
    if occurrence is None:
        occurrence = now.year if trigger == "birthday" else 0
    since = now - timedelta(days=program.frequency_cap_days)
    applied = 0
    for i in range(0, len(card_ids), CHUNK):
        reachable = session.scalars(
            select(Card.id)
            .join(Member, Member.id == Card.member_id)
            .where(
                Card.id.in_(card_ids[i : i + CHUNK]),
                Card.status == "active",
                Member.marketing_consent.is_(True),
            )
            .order_by(Card.id)
        ).all()
        if not reachable:
            continue
        for campaign in active:
            applied += _fire(session, clock, campaign, list(reachable), occurrence, since)
    return applied


def _fire(
    session: Session,
    clock: Clock,
    campaign: Campaign,
    cards: list[int],
    occurrence: int,
    since: datetime,
) -> int:
    t = CampaignTarget
    done = set(
        session.scalars(
            select(t.card_id).where(
                t.campaign_id == campaign.id, t.card_id.in_(cards), t.occurrence == occurrence
            )
        )
    )
    capped = set(
        session.scalars(select(t.card_id).where(t.card_id.in_(cards), t.applied_at >= since))
    )
    now = clock.now()
    targets = [
        CampaignTarget(
            campaign_id=campaign.id,
            card_id=card_id,
            holdout=campaigns.in_holdout(campaign.id, card_id, campaign.holdout_bp),
            skipped="frequency_cap" if card_id in capped else None,
            targeted_at=now,
            occurrence=occurrence,
        )
        for card_id in cards
        if card_id not in done
    ]
    session.add_all(targets)
    session.flush()
    offered = [target.id for target in targets if not target.holdout and target.skipped is None]
    if offered:
        campaigns.apply_chunk(session, clock, campaign.id, offered)
    return len(offered)
