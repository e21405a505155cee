"""What the receipts of some time windows add up to, summed by the database in one
query: receipts, revenue net of refunds, with and without card, card buyers and repeat
buyers, per window (and per store when asked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from app.analytics import rollups
from app.analytics.rollups import window_tree
from app.db import UTCDateTime
from app.loyalty.models import Program
from app.till.models import Receipt, Refund

Window = tuple[datetime, datetime]  # [start, end)
Bound = TypeVar("Bound", datetime, int)  # instants, or local days (ordinals)


@dataclass(frozen=True)
class ReceiptSums:
    receipts: int = 0
    with_card: int = 0
    revenue: int = 0  # money paid less money given back by refunds made before the end
    revenue_with_card: int = 0
    buyers: int = 0  # members who bought with their card
    repeat_buyers: int = 0  # of those, with two or more receipts in the window


def layers(windows: Sequence[tuple[Bound, Bound]]) -> list[list[int]]:
    """Window indexes split into groups of windows that do not overlap (each group is
    one query): the weeks of a period are one layer, the period itself another."""
    out: list[list[int]] = []
    ends: list[Bound] = []
    for i in sorted(range(len(windows)), key=lambda i: windows[i]):
        start, end = windows[i]
        for layer, last_end in enumerate(ends):
            if last_end <= start:
                out[layer].append(i)
                ends[layer] = end
                break
        else:
            out.append([i])
            ends.append(end)
    return out


def receipt_sums(
    session: Session,
    program: Program,
    windows: Sequence[Window],
    store_id: int | None = None,
    by_store: bool = False,
) -> dict[tuple[int, int | None], ReceiptSums]:
    """(window index, store id or None) -> sums; ``windows`` must be sorted and must not
    overlap. Windows and stores without receipts are left out. A member has one card,
    so card buyers are counted by card."""
    if not windows:
        return {}
    at = Receipt.created_at.expression
    bucket = window_tree(at, windows, [literal(i) for i in range(len(windows))])
    in_range = [
        Receipt.program_id == program.id,
        at >= windows[0][0],
        at < windows[-1][1],
    ]
    if store_id is not None:
        in_range.append(Receipt.store_id == store_id)
    store = Receipt.store_id if by_store else literal(None)
    days = rollups.day_windows(session, program, windows)
    if days is not None:  # whole local days: the daily rollups
        sums = rollups.sums(session, program, days, store_id, by_store)
    else:
        sums = _by_card(session, windows, in_range, bucket, store)
    # Refunds count in a window when they were made before its end.
    bucket_end = window_tree(at, windows, [literal(end, UTCDateTime()) for _, end in windows])
    for window, shop, with_card, back in session.execute(
        select(bucket, store, Receipt.card_id.is_not(None), func.sum(Refund.money_back))
        .join(Refund, Refund.receipt_pk == Receipt.id)
        .where(*in_range, Refund.created_at < bucket_end)
        .group_by(bucket, store, Receipt.card_id.is_not(None))
    ):
        if window is None:
            continue  # a receipt between two windows
        row = sums[(int(window), shop)]
        row[2] -= int(back)
        if with_card:
            row[3] -= int(back)
    return {key: ReceiptSums(*row) for key, row in sums.items()}


def _by_card(
    session: Session, windows: Sequence[Window], in_range: list[Any], bucket: Any, store: Any
) -> dict[tuple[int, int | None], list[int]]:
    """The sums from the receipts themselves, grouped per card for the buyers."""
    per_card = (
        select(
            bucket.label("bucket"),
            store.label("store_id"),
            Receipt.card_id.label("card_id"),
            func.count().label("n"),
            func.sum(Receipt.amount_due).label("due"),
        )
        .where(*in_range)
        .group_by(bucket, store, Receipt.card_id)
        .subquery()
    )
    c = per_card.c
    carded = c.card_id.is_not(None)
    return {
        (int(row[0]), row[1]): [int(v or 0) for v in row[2:]]
        for row in session.execute(
            select(
                c.bucket,
                c.store_id,
                func.sum(c.n),
                func.sum(case((carded, c.n), else_=0)),
                func.sum(c.due),
                func.sum(case((carded, c.due), else_=0)),
                func.count(c.card_id),
                func.sum(case((and_(carded, c.n >= 2), 1), else_=0)),
            )
            .where(c.bucket.is_not(None))
            .group_by(c.bucket, c.store_id)
        )
    }
