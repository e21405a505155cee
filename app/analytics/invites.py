"""The invite funnel: sent -> opened -> installed (any wallet) -> first purchase, by
channel (sms, email) and by source (site, till, import, console).

An invite counts in a step when, after it was sent, its link was opened, its card was
added to a wallet, and a purchase was made with the card. Invites are taken by when
they were sent, within the period.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from app.loyalty.models import Card
from app.messaging.models import CHANNELS, SOURCES, Invite
from app.till.models import Receipt

STEPS = ("sent", "opened", "installed", "purchased")


@dataclass(frozen=True)
class FunnelRow:
    channel: str
    source: str
    sent: int
    opened: int
    installed: int
    purchased: int  # made a first purchase with the card after the invite

    def as_json(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "source": self.source,
            "sent": self.sent,
            "opened": self.opened,
            "installed": self.installed,
            "first_purchase": self.purchased,
        }


def funnel(session: Session, program_id: int, start: datetime, end: datetime) -> list[FunnelRow]:
    """One row per channel and source that sent anything in [start, end], in a fixed
    order, then a total row (channel and source "all"). Both ends included."""
    installed = or_(
        Card.apple_installed_at >= Invite.sent_at, Card.google_installed_at >= Invite.sent_at
    )
    bought = (
        select(Receipt.id)
        .where(Receipt.card_id == Invite.card_id, Receipt.created_at >= Invite.sent_at)
        .exists()
    )

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    rows = session.execute(
        select(
            Invite.channel,
            Invite.source,
            func.count(),
            count(Invite.opened_at.is_not(None)),
            count(installed),
            count(bought),
        )
        .join(Card, Card.id == Invite.card_id)
        .where(
            Invite.program_id == program_id,
            Invite.status == "sent",
            Invite.sent_at >= start,
            Invite.sent_at <= end,
        )
        .group_by(Invite.channel, Invite.source)
    ).all()
    found = {(r[0], r[1]): [int(v) for v in r[2:]] for r in rows}
    out = [
        FunnelRow(channel, source, *found[(channel, source)])
        for channel in CHANNELS
        for source in SOURCES
        if (channel, source) in found
    ]
    totals = [sum(r[i] for r in found.values()) for i in range(4)]
    out.append(FunnelRow("all", "all", *totals))
    return out
