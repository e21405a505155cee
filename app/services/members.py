"""Staff work on members: finding them, a card's history, manual point adjustments."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from app.bounds import CONTROL_MESSAGE, has_control_characters
from app.clock import Clock
from app.loyalty import ledger, rules
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, LedgerEntry, Member, Program
from app.passes.sync import mark_card_changed
from app.services.staff import audit
from app.staff.models import StaffUser
from app.till.models import Receipt

MAX_ADJUSTMENT = 1_000_000


def search(
    session: Session, program: Program, query: str, limit: int = 50
) -> list[tuple[Member, Card]]:
    """Members whose name (case-blind in any script, ё as е), phone or card number
    contains the query, newest first; erased members are not found. A phone is read as
    people write it (8-prefixed, with spaces, brackets and dashes) and matched whole once
    it is a valid number."""
    q = " ".join(query.split())
    stmt = (
        select(Member, Card)
        .join(Card, Card.member_id == Member.id)
        .where(Member.program_id == program.id, Member.erased_at.is_(None))
        .order_by(Member.id.desc())
        .limit(limit)
    )
    if q:
        conditions: list[ColumnElement[bool]] = [
            Member.name_folded.contains(rules.fold(q), autoescape=True)
        ]
        digits = "".join(ch for ch in q if ch.isdigit())
        if len(digits) >= 4 and not any(ch.isalpha() for ch in q):
            phone = rules.normalise_phone(q, program.phone_region)
            if phone is not None:
                conditions.append(Member.phone == phone)
            conditions += [Member.phone.contains(digits), Card.number.contains(digits)]
            if digits.startswith("8") and len(digits) > 4:  # 8 916 12… typed for +7 916 12…
                conditions.append(Member.phone.contains("7" + digits[1:]))
        stmt = stmt.where(or_(*conditions))
    return [(m, c) for m, c in session.execute(stmt).all()]


@dataclass(frozen=True)
class History:
    ledger: list[LedgerEntry]
    receipts: list[Receipt]


def history(session: Session, card: Card, limit: int = 100) -> History:
    return History(
        list(
            session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.card_id == card.id)
                .order_by(LedgerEntry.id.desc())
                .limit(limit)
            )
        ),
        list(
            session.scalars(
                select(Receipt)
                .where(Receipt.card_id == card.id)
                .order_by(Receipt.id.desc())
                .limit(limit)
            )
        ),
    )


def merged_into(session: Session, card: Card) -> list[Card]:
    """The duplicates merged into ``card`` (their pages keep their own history)."""
    return list(
        session.scalars(select(Card).where(Card.merged_into_id == card.id).order_by(Card.id))
    )


def check_adjustment(points: int, reason: str) -> str:
    """The reason, tidied; ValidationError when the adjustment cannot be made at all."""
    errors: dict[str, str] = {}
    reason = " ".join(reason.split())
    if not 3 <= len(reason) <= 500:
        errors["reason"] = "is required (3 to 500 characters): say why"
    elif has_control_characters(reason):
        errors["reason"] = CONTROL_MESSAGE
    if points == 0 or abs(points) > MAX_ADJUSTMENT:
        errors["points"] = f"must be a non-zero whole number up to {MAX_ADJUSTMENT} either way"
    if errors:
        raise ValidationError(errors)
    return reason


def adjust(
    session: Session,
    clock: Clock,
    card: Card,
    points: int,
    reason: str,
    actor: StaffUser | str,
    requested_by: str | None = None,
) -> LedgerEntry | None:
    """Add (positive) or take (negative) points by hand, with a reason; audited, and the
    card on the phone updates. Caps and approvals: ``services.adjustments``."""
    reason = check_adjustment(points, reason)
    locked = ledger.lock_card(session, card.id)
    now = clock.now()
    if points > 0:
        entry = ledger.credit(
            session,
            locked,
            points=points,
            kind="adjust",
            now=now,
            valid_days=locked.program.points_validity_days,
            reference="manual",
            note=reason,
        )
    else:
        entry = ledger.debit(
            session, locked, points=-points, kind="adjust", now=now, reference="manual", note=reason
        )
    mark_card_changed(session, clock, locked.id)
    details: dict[str, object] = {"points": points, "reason": reason}
    if requested_by is not None:
        details["requested_by"] = requested_by  # approved on someone else's request
    audit(session, clock, actor, "card.adjusted", locked.number, details)
    session.flush()
    return entry
