"""Manual point adjustments with a per-role cap and a second approver above it.

Up to the cap of the requester's role an adjustment applies at once. Above it the
adjustment is stored as pending and applies only when another admin approves it (an
admin's own large adjustments need a second admin too: one stolen session must not
mint unlimited points). Every step is in the audit log with who and why.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, LedgerEntry
from app.services import members
from app.services.staff import audit
from app.staff.errors import StaffStateError
from app.staff.models import PendingAdjustment, StaffUser

# Points either way a role may adjust alone. Marketers cannot adjust in the console
# today; their cap is here so granting them the right does not grant it unlimited.
CAPS = {"store_manager": 500, "marketer": 5_000, "admin": 10_000}


def cap_of(actor: StaffUser | str) -> int | None:
    """None: no cap (the operator's command line, which has the database anyway)."""
    return CAPS.get(actor.role, 0) if isinstance(actor, StaffUser) else None


def submit(
    session: Session, clock: Clock, card: Card, points: int, reason: str, actor: StaffUser | str
) -> LedgerEntry | PendingAdjustment:
    """Apply the adjustment, or store it for approval when it is above the actor's cap."""
    cap = cap_of(actor)
    if cap is None or abs(points) <= cap:
        entry = members.adjust(session, clock, card, points, reason, actor)
        assert entry is not None
        return entry
    assert isinstance(actor, StaffUser)
    reason = members.check_adjustment(points, reason)
    pending = PendingAdjustment(
        program_id=card.program_id,
        card_id=card.id,
        points=points,
        reason=reason,
        requested_by_id=actor.id,
        requested_by=actor.email,
        requested_at=clock.now(),
        status="pending",
    )
    session.add(pending)
    session.flush()
    audit(
        session,
        clock,
        actor,
        "card.adjustment_requested",
        card.number,
        {"points": points, "reason": reason, "pending_id": pending.id, "cap": cap},
    )
    return pending


def waits_for_approval(done: LedgerEntry | PendingAdjustment) -> bool:
    """Whether ``submit`` stored the adjustment for an admin's approval."""
    return isinstance(done, PendingAdjustment)


def pending(
    session: Session, program_ids: Collection[int] | None
) -> list[tuple[PendingAdjustment, str]]:
    """Requests waiting for a decision, oldest first, with their card numbers."""
    query = (
        select(PendingAdjustment, Card.number)
        .join(Card, Card.id == PendingAdjustment.card_id)
        .where(PendingAdjustment.status == "pending")
    )
    if program_ids is not None:
        query = query.where(PendingAdjustment.program_id.in_(program_ids))
    rows = session.execute(query.order_by(PendingAdjustment.requested_at, PendingAdjustment.id))
    return [(row, number) for row, number in rows]


def _claim(session: Session, pending_id: int, approver: StaffUser) -> PendingAdjustment:
    row = session.scalar(
        select(PendingAdjustment).where(PendingAdjustment.id == pending_id).with_for_update()
    )
    if row is None:
        raise StaffStateError(f"no pending adjustment {pending_id}")
    if approver.role != "admin":
        raise StaffStateError("only an admin decides on adjustments")
    if row.status != "pending":
        raise StaffStateError(f"this adjustment is already {row.status}")
    if row.requested_by_id == approver.id:
        raise StaffStateError("another admin must decide on your own request")
    return row


def approve(session: Session, clock: Clock, pending_id: int, approver: StaffUser) -> LedgerEntry:
    row = _claim(session, pending_id, approver)
    card = session.get(Card, row.card_id)
    if card is None:
        raise ValidationError({"card": "no longer exists"})
    entry = members.adjust(
        session, clock, card, row.points, row.reason, approver, requested_by=row.requested_by
    )
    assert entry is not None
    row.status, row.decided_by_id, row.decided_at = "approved", approver.id, clock.now()
    session.flush()
    return entry


def reject(session: Session, clock: Clock, pending_id: int, approver: StaffUser) -> None:
    row = _claim(session, pending_id, approver)
    row.status, row.decided_by_id, row.decided_at = "rejected", approver.id, clock.now()
    card = session.get(Card, row.card_id)
    audit(
        session,
        clock,
        approver,
        "card.adjustment_rejected",
        card.number if card else None,
        {"points": row.points, "reason": row.reason, "requested_by": row.requested_by},
    )
    session.flush()
