"""Starting a campaign: the one place where a scheduled campaign whose time has come
becomes "sending" and is handed to the worker after commit. The console's confirmation,
the API's create and confirm, and the minute's scheduler all start campaigns here."""

from __future__ import annotations

import functools
from typing import Protocol

from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.clock import Clock
from app.db import after_commit


class CampaignQueue(Protocol):
    def run_campaign(self, campaign_id: int) -> None: ...


def start(session: Session, clock: Clock, queue: CampaignQueue, campaign: Campaign) -> None:
    """Mark the campaign sending; the worker gets its id once the transaction commits."""
    campaign.status, campaign.started_at = "sending", clock.now()
    hand_over(session, queue, campaign.id)


def hand_over(session: Session, queue: CampaignQueue, campaign_id: int) -> None:
    """Give a sending campaign to the worker after commit (again, for a stalled run)."""
    after_commit(session, functools.partial(queue.run_campaign, campaign_id))


def start_if_due(session: Session, clock: Clock, queue: CampaignQueue, campaign: Campaign) -> bool:
    """Start a scheduled campaign whose send time has come; True when it started."""
    due = campaign.send_at is not None and campaign.send_at <= clock.now()
    if campaign.status != "scheduled" or not due:
        return False
    start(session, clock, queue, campaign)
    return True
