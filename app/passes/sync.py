"""Marking passes changed: the first step of the pass-update pipeline."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from app.clock import Clock
from app.passes.models import WalletPass


def mark_changed(session: Session, clock: Clock, pass_ids: Iterable[int]) -> int:
    """Bump version, updated_at and last_modified of the passes, in the caller's
    transaction; delivery happens after commit. Returns how many were marked.

    last_modified moves to the current second, or one second past its previous
    value when the pass already changed within this second, so a phone that
    fetched the previous state never gets 304 for the new one.
    """
    ids = list(pass_ids)
    if not ids:
        return 0
    now = clock.now()
    now_s = int(now.timestamp())
    result = session.execute(
        update(WalletPass)
        .where(WalletPass.id.in_(ids))
        .values(
            version=WalletPass.version + 1,
            updated_at=now,
            last_modified=case(
                (WalletPass.last_modified >= now_s, WalletPass.last_modified + 1),
                else_=now_s,
            ),
        )
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def mark_card_changed(session: Session, clock: Clock, card_id: int) -> None:
    """mark_changed for the pass of one card (a card without a pass has nothing to update)."""
    pass_id = session.scalar(select(WalletPass.id).where(WalletPass.card_id == card_id))
    if pass_id is not None:
        mark_changed(session, clock, [pass_id])
