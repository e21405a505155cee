"""Figures read from the database when metrics are scraped: what is owed to phones and
how far running campaigns have come. A few aggregate queries, no per-row work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.loyalty.models import Program
from app.passes.models import GoogleObject, WalletPass
from app.services.campaigns import Progress, progress_of

RUNNING = ("sending", "active")  # a broadcast under way; a triggered campaign switched on


@dataclass(frozen=True)
class Owed:
    passes: int
    oldest_change: datetime | None


@dataclass(frozen=True)
class RunningCampaign:
    campaign_id: int
    program: str
    status: str
    progress: Progress


def owed(session: Session) -> dict[str, Owed]:
    """Passes whose current version has not reached every device yet: ``passkit`` is the
    shared outbox of APNs and the Android apps' relays, ``google`` the Google objects."""
    passkit = session.execute(
        select(func.count(), func.min(WalletPass.updated_at)).where(
            WalletPass.version > WalletPass.apns_delivered_version
        )
    ).one()
    google = session.execute(
        select(func.count(), func.min(WalletPass.updated_at))
        .join(GoogleObject, GoogleObject.pass_id == WalletPass.id)
        .where(
            WalletPass.version > WalletPass.google_delivered_version,
            GoogleObject.removed_at.is_(None),
        )
    ).one()
    return {
        "passkit": Owed(int(passkit[0]), passkit[1]),
        "google": Owed(int(google[0]), google[1]),
    }


def running_campaigns(session: Session) -> list[RunningCampaign]:
    rows = session.execute(
        select(Campaign, Program.slug)
        .join(Program, Program.id == Campaign.program_id)
        .where(Campaign.status.in_(RUNNING))
        .order_by(Campaign.id)
    ).all()
    progress = progress_of(session, [campaign for campaign, _ in rows])
    return [
        RunningCampaign(campaign.id, slug, campaign.status, progress[campaign.id])
        for campaign, slug in rows
    ]
