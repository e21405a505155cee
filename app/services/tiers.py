"""Tiers granted by spending: after a purchase, a card whose total paid (purchases less
money refunded) reaches a tier's threshold moves up to it. Never down, and never below a
discount the card already has (a staff-assigned tier keeps its holder)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.models import Card, Tier
from app.passes.sync import mark_card_changed
from app.services.staff import audit
from app.till.models import Receipt, Refund


def total_spent(session: Session, card_id: int) -> int:
    paid = session.scalar(
        select(func.coalesce(func.sum(Receipt.amount_due), 0)).where(Receipt.card_id == card_id)
    )
    back = session.scalar(
        select(func.coalesce(func.sum(Refund.money_back), 0))
        .join(Receipt, Receipt.id == Refund.receipt_pk)
        .where(Receipt.card_id == card_id)
    )
    return int(paid or 0) - int(back or 0)


def upgrade_by_spend(session: Session, clock: Clock, card: Card) -> Tier | None:
    """The tier the card moved up to, or None. One SUM query, and only for programs
    that have a tier granted by spending."""
    by_spend = [t for t in card.program.tiers if t.spend_threshold is not None]
    if not by_spend:
        return None
    spent = total_spent(session, card.id)
    reached = [
        t
        for t in by_spend
        if t.spend_threshold is not None
        and spent >= t.spend_threshold
        and t.discount_bp > card.tier.discount_bp
    ]
    if not reached:
        return None
    best = max(reached, key=lambda t: t.discount_bp)
    card.tier_id = best.id
    card.tier = best
    card.tier_reason = None
    session.flush()
    mark_card_changed(session, clock, card.id)
    audit(
        session,
        clock,
        "till",
        "card.tier_reached",
        card.number,
        {"tier": best.code, "spent": spent},
    )
    return best
