"""The points ledger: awarding lots and keeping the cached balance equal to the sum."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.db import lock_for_update
from app.loyalty.models import Card, LedgerEntry


def lock_card(session: Session, card_id: int) -> Card:
    """The card, locked against concurrent balance changes until the transaction ends.

    PostgreSQL takes a row lock (FOR UPDATE); on SQLite the writing transaction
    already holds the database's write lock (BEGIN IMMEDIATE).
    """
    stmt = select(Card).where(Card.id == card_id).execution_options(populate_existing=True)
    if lock_for_update(session):
        stmt = stmt.with_for_update()
    card = session.scalar(stmt)
    if card is None:
        raise LookupError(f"card {card_id} does not exist")
    return card


def award(
    session: Session,
    card_id: int,
    *,
    points: int,
    kind: str,
    now: datetime,
    valid_days: int | None,
    reference: str,
    idempotency_key: str,
) -> LedgerEntry | None:
    """Credit a lot of points once per idempotency key.

    Returns the new entry, or None when that key was already used (the award
    happened before, in this or a concurrent transaction).
    """
    if points <= 0:
        raise ValueError("an award must be positive")
    card = lock_card(session, card_id)
    existing = session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return None
    entry = LedgerEntry(
        card_id=card.id,
        kind=kind,
        points=points,
        remaining=points,
        expires_at=now + timedelta(days=valid_days) if valid_days else None,
        reference=reference,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        # The unique key is the last line of defence if two awards race.
        return None
    card.balance += points
    session.flush()
    return entry
