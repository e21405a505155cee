"""A member's size as their receipts tell it: the size they bought most often."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.till.models import ReceiptLine


def favourite_sizes(
    session: Session, card_ids: Sequence[int], category: str | None = None
) -> dict[int, str]:
    """Card id -> the size of most items bought (in ``category`` when given); a tie goes
    to the size bought last, then to the first in text order. Cards without sized lines
    are left out."""
    if not card_ids:
        return {}
    line = ReceiptLine
    stmt = (
        select(line.card_id, line.size, func.sum(line.quantity), func.max(line.created_at))
        .where(line.card_id.in_(card_ids), line.size.is_not(None))
        .group_by(line.card_id, line.size)
    )
    if category is not None:
        stmt = stmt.where(line.category == category)
    best: dict[int, tuple[int, str, str]] = {}
    for card_id, size, items, last in session.execute(stmt):
        if size is None:
            continue
        # max() loses the column type on SQLite: compare as text (ISO order is time order).
        mine = (int(items or 0), _text(last), size)
        current = best.get(card_id)
        if current is None or _better(mine, current):
            best[card_id] = mine
    return {card_id: key[2] for card_id, key in best.items()}


def _text(value: datetime | str | None) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    text = str(value or "")
    return text if "." in text or not text else text + ".000000"


def _better(mine: tuple[int, str, str], other: tuple[int, str, str]) -> bool:
    """More items first, then bought later, then the first size in text order."""
    if mine[:2] != other[:2]:
        return mine[:2] > other[:2]
    return mine[2] < other[2]
