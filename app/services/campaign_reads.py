"""What the marketer pages and the staff API read about campaigns: one campaign, if it
belongs to one of the user's programs; its program; the latest campaigns of programs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.loyalty.models import Program
from app.services import staff_scope
from app.staff.models import StaffUser


def visible(session: Session, user: StaffUser, campaign_id: int) -> Campaign | None:
    """The campaign, if it is in one of the user's programs (None: as if unknown)."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or not staff_scope.may_see(session, user, campaign.program_id):
        return None
    return campaign


def program_of(session: Session, campaign: Campaign) -> Program:
    program = session.get(Program, campaign.program_id)
    assert program is not None  # a foreign key
    return program


def latest(
    session: Session, programs: Sequence[Program], limit: int
) -> list[tuple[Campaign, Program]]:
    """The newest campaigns of these programs, each with its program."""
    rows = session.execute(
        select(Campaign, Program)
        .join(Program, Program.id == Campaign.program_id)
        .where(Program.id.in_([p.id for p in programs]))
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
        .limit(limit)
    ).all()
    return [(campaign, program) for campaign, program in rows]
