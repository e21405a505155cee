"""Marking passes changed: the first step of the pass-update pipeline."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.clock import Clock
from app.passes.models import WalletPass


def mark_changed(session: Session, clock: Clock, pass_ids: Iterable[int]) -> int:
    """Bump version and updated_at of the given passes in the caller's transaction.

    Returns how many passes were marked. Delivery happens after commit.
    """
    ids = list(pass_ids)
    if not ids:
        return 0
    result = session.execute(
        update(WalletPass)
        .where(WalletPass.id.in_(ids))
        .values(version=WalletPass.version + 1, updated_at=clock.now())
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
