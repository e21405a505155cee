"""What a campaign did: progress of its sending (reach counted only on cards that are in
a wallet) and the report of targets against the holdout."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from app.bounds import MAX_DAYS
from app.campaigns.models import Campaign, CampaignTarget
from app.campaigns.results import Arm, compare, target_results
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card
from app.passes.models import LIVE_PASS, WalletPass
from app.services.wallet_stats import card_in_wallet


@dataclass(frozen=True)
class Progress:
    status: str
    targets: int
    holdout: int
    skipped: int
    applied: int
    # Applied, on a card that is in a wallet (any app or Google) and delivered to its
    # registered devices: cards in no wallet reach no phone and are not counted.
    pushed: int
    accepted: int = 0  # device pushes APNs accepted
    failed: int = 0  # device pushes that failed (sent again later)
    pruned: int = 0  # devices removed because their token was dead
    in_wallet: int = 0  # targets to send (not holdout, not skipped) whose card is in a wallet

    @property
    def percent(self) -> int:
        return 100 if self.in_wallet == 0 else min(100, int(100 * self.pushed / self.in_wallet))


def progress(session: Session, campaign: Campaign) -> Progress:
    return progress_of(session, [campaign])[campaign.id]


def progress_of(session: Session, campaigns: Sequence[Campaign]) -> dict[int, Progress]:
    """Progress of several campaigns (campaign id -> progress) in two grouped queries,
    not a handful per campaign (the campaign list shows fifty)."""
    t = CampaignTarget
    ids = [c.id for c in campaigns]
    if not ids:
        return {}

    def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    counts = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                t.campaign_id,
                func.count(),
                flag(t.holdout.is_(True)),
                flag(t.skipped.is_not(None)),
                flag(t.applied_at.is_not(None)),
                func.coalesce(func.sum(t.pushes_accepted), 0),
                func.coalesce(func.sum(t.pushes_failed), 0),
                func.coalesce(func.sum(t.pushes_pruned), 0),
            )
            .where(t.campaign_id.in_(ids))
            .group_by(t.campaign_id)
        )
    }
    reach = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                t.campaign_id,
                func.count(),
                flag(
                    t.applied_at.is_not(None)
                    & (WalletPass.apns_delivered_version >= t.pass_version)
                ),
            )
            .join(Card, Card.id == t.card_id)
            # A replaced card keeps its voided old pass: only the live one counts.
            .outerjoin(WalletPass, (WalletPass.card_id == t.card_id) & LIVE_PASS)
            .where(
                t.campaign_id.in_(ids),
                t.holdout.is_(False),
                t.skipped.is_(None),
                card_in_wallet("any"),
            )
            .group_by(t.campaign_id)
        )
    }
    out = {}
    for campaign in campaigns:
        n = [int(v) for v in counts.get(campaign.id, (0,) * 7)]
        out[campaign.id] = Progress(
            status=campaign.state,
            targets=n[0],
            holdout=n[1],
            skipped=n[2],
            applied=n[3],
            pushed=int(reach.get(campaign.id, (0, 0))[1]),
            accepted=n[4],
            failed=n[5],
            pruned=n[6],
            in_wallet=int(reach.get(campaign.id, (0, 0))[0]),
        )
    return out


@dataclass(frozen=True)
class Report:
    days: int
    targets: Arm
    holdout: Arm
    uplift_per_card: float  # extra revenue per targeted card, minor units
    ci95: tuple[float, float]


def report(session: Session, campaign: Campaign, days: int = 14) -> Report:
    """Revenue and purchases of targets vs holdout in the ``days`` after each was
    targeted (a triggered campaign's targets arrive over time), with the difference of
    revenue per card and its 95 % confidence interval (Welch)."""
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError({"days": f"must be a whole number from 1 to {MAX_DAYS}"})
    found = compare(target_results(session, [campaign.id], days))
    return Report(days, found.targets, found.holdout, found.uplift_per_card, found.ci95)
