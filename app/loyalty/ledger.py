"""The points ledger: lots credited, spent oldest first, expired at their date.

Invariants kept by every function here (checked by a property-based test):
``card.balance == sum(entry.points) == sum(lot.remaining)``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.bounds import MAX_DAYS, MAX_MONEY
from app.db import lock_for_update
from app.loyalty.errors import InsufficientPointsError, ValidationError
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


def _key_used(session: Session, key: str) -> bool:
    return (
        session.scalar(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == key)) is not None
    )


def _add(session: Session, entry: LedgerEntry) -> bool:
    """Insert; False if its idempotency key lost a race (the unique key decides)."""
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        if entry.idempotency_key is None:
            raise
        return False
    return True


def check_bounds(points: int, valid_days: int | None) -> None:
    """The domain's bounds on a lot: points within what a balance holds, validity
    within ten years (app.bounds)."""
    errors = {}
    if not 0 < points <= MAX_MONEY:
        errors["points"] = f"must be a whole number from 1 to {MAX_MONEY}"
    if valid_days is not None and not 0 <= valid_days <= MAX_DAYS:
        errors["valid_days"] = f"must be from 1 to {MAX_DAYS} days (0: no expiry)"
    if errors:
        raise ValidationError(errors)


def credit(
    session: Session,
    card: Card,
    *,
    points: int,
    kind: str,
    now: datetime,
    valid_days: int | None,
    reference: str,
    idempotency_key: str | None = None,
    note: str | None = None,
) -> LedgerEntry | None:
    """Add a lot to a card locked by the caller. With an idempotency key, a second
    credit under the same key does nothing and returns None."""
    if points <= 0:
        raise ValueError("a credit must be positive")
    check_bounds(points, valid_days)
    if idempotency_key is not None and _key_used(session, idempotency_key):
        return None
    entry = LedgerEntry(
        card_id=card.id,
        kind=kind,
        points=points,
        remaining=points,
        expires_at=now + timedelta(days=valid_days) if valid_days else None,
        reference=reference,
        idempotency_key=idempotency_key,
        note=note,
        created_at=now,
    )
    if idempotency_key is None:
        session.add(entry)  # nothing to race on: no savepoint needed
    elif not _add(session, entry):
        return None
    card.balance += points
    return entry


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
    """Lock the card and credit a bonus at most once per idempotency key."""
    card = lock_card(session, card_id)
    entry = credit(
        session,
        card,
        points=points,
        kind=kind,
        now=now,
        valid_days=valid_days,
        reference=reference,
        idempotency_key=idempotency_key,
    )
    session.flush()
    return entry


def award_many(
    session: Session,
    awards: Iterable[tuple[int, str]],
    *,
    points: int,
    kind: str,
    now: datetime,
    valid_days: int | None,
    reference: str,
) -> list[int]:
    """award() for many (card id, idempotency key) pairs in a few statements: the
    cards locked in id order, the lots inserted at once (a key already used inserts
    nothing), the balances raised by one UPDATE. Writes the rows award() would write,
    one by one. Returns the card ids credited (a card once per lot it got)."""
    if points <= 0:
        raise ValueError("a credit must be positive")
    check_bounds(points, valid_days)
    by_key = {key: card_id for card_id, key in awards}  # one lot per key
    if not by_key:
        return []
    card_ids = sorted(set(by_key.values()))
    lock = select(Card.id).where(Card.id.in_(card_ids)).order_by(Card.id)
    if lock_for_update(session):
        lock = lock.with_for_update()
    found = set(session.scalars(lock))
    if len(found) != len(card_ids):
        missing = min(set(card_ids) - found)
        raise LookupError(f"card {missing} does not exist")
    session.flush()  # pending ORM changes go before the statements below
    expires_at = now + timedelta(days=valid_days) if valid_days else None
    rows = [
        {
            "card_id": card_id,
            "kind": kind,
            "points": points,
            "remaining": points,
            "expires_at": expires_at,
            "reference": reference,
            "idempotency_key": key,
            "note": None,
            "created_at": now,
        }
        for key, card_id in by_key.items()
    ]
    table = LedgerEntry.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.idempotency_key])
        .returning(table.c.card_id)
    )
    credited = list(session.scalars(insert, rows))
    # Cards credited the same number of times share one UPDATE (normally all of them).
    by_count: dict[int, list[int]] = {}
    for card_id, times in Counter(credited).items():
        by_count.setdefault(times, []).append(card_id)
    for times, ids in by_count.items():
        session.execute(
            update(Card)
            .where(Card.id.in_(ids))
            .values(balance=Card.balance + points * times)
            .execution_options(synchronize_session=False)
        )
    for card_id in set(credited):  # a Card already loaded must not keep its old balance
        loaded = session.identity_map.get(session.identity_key(Card, card_id))
        if loaded is not None:
            session.expire(loaded, ["balance"])
    return credited


def _open_lots(
    session: Session, card: Card, now: datetime, prefer: int | None
) -> list[LedgerEntry]:
    lots = list(
        session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.card_id == card.id,
                LedgerEntry.remaining > 0,
                (LedgerEntry.expires_at.is_(None)) | (LedgerEntry.expires_at > now),
            )
            .order_by(LedgerEntry.id)
        )
    )
    if prefer is not None:
        lots.sort(key=lambda lot: lot.id != prefer)  # stable: the preferred lot first
    return lots


def debit(
    session: Session,
    card: Card,
    *,
    points: int,
    kind: str,
    now: datetime,
    reference: str,
    allow_partial: bool = False,
    prefer_lot: int | None = None,
    note: str | None = None,
) -> LedgerEntry | None:
    """Take points from a card locked by the caller, oldest lots first.

    Raises InsufficientPointsError unless ``allow_partial``, which takes what there
    is (a refund taking back points already spent). Returns None if nothing was taken.
    """
    if points <= 0:
        raise ValueError("a debit must be positive")
    expire_due(session, card, now)
    if points > card.balance:
        if not allow_partial:
            raise InsufficientPointsError(card.balance)
        points = card.balance
    if points == 0:
        return None
    left = points
    for lot in _open_lots(session, card, now, prefer_lot):
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
        if left == 0:
            break
    if left:  # the cached balance disagreed with the lots: never paper over that
        raise RuntimeError(f"card {card.id}: balance {card.balance} but lots short by {left}")
    entry = LedgerEntry(
        card_id=card.id,
        kind=kind,
        points=-points,
        remaining=0,
        reference=reference,
        note=note,
        created_at=now,
    )
    session.add(entry)
    card.balance -= points
    return entry


def expire_due(session: Session, card: Card, now: datetime) -> int:
    """Expire every lot of the (locked) card whose date has come; returns the points."""
    lots = list(
        session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.card_id == card.id,
                LedgerEntry.remaining > 0,
                LedgerEntry.expires_at <= now,
            )
        )
    )
    total = 0
    for lot in lots:
        session.add(
            LedgerEntry(
                card_id=card.id,
                kind="expire",
                points=-lot.remaining,
                remaining=0,
                reference=f"lot:{lot.id}",
                created_at=now,
            )
        )
        total += lot.remaining
        lot.remaining = 0
    card.balance -= total
    return total
