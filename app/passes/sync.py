"""Marking passes changed: the first step of the pass-update pipeline."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import ColumnElement, case, select, update
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.models import Card, Program
from app.passes.models import WalletPass

CHANGED_PASSES = "walletpass.changed_passes"


def changed_in(session: Session) -> set[int]:
    """Ids of passes marked changed in this session's transaction (for after-commit)."""
    found: set[int] = session.info.setdefault(CHANGED_PASSES, set())
    return found


def _bump(session: Session, clock: Clock, where: ColumnElement[bool]) -> int:
    now = clock.now()
    now_s = int(now.timestamp())
    result = session.execute(
        update(WalletPass)
        .where(where)
        .values(
            version=WalletPass.version + 1,
            updated_at=now,
            last_modified=case(
                (WalletPass.last_modified >= now_s, WalletPass.last_modified + 1),
                else_=now_s,
            ),
        )
        .returning(WalletPass.id)
        # In-session WalletPass objects are not refreshed: callers that go on using
        # one after marking it changed must refresh it.
        .execution_options(synchronize_session=False)
    )
    ids = set(result.scalars())
    changed_in(session).update(ids)
    return len(ids)


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
    return _bump(session, clock, WalletPass.id.in_(ids))


def mark_card_changed(session: Session, clock: Clock, card_id: int) -> None:
    """mark_changed for the pass of one card (a card without a pass has nothing to update;
    the voided passes of a replaced card show nothing that changes)."""
    _bump(session, clock, (WalletPass.card_id == card_id) & WalletPass.voided_at.is_(None))


def mark_program_changed(session: Session, clock: Clock, program_id: int) -> int:
    """Every pass of a program changed (its look or texts did), in one set-based UPDATE."""
    session.execute(
        update(Program)
        .where(Program.id == program_id)
        .values(pass_revision=secrets.randbits(62))
        .execution_options(synchronize_session=False)
    )
    cards = select(Card.id).where(Card.program_id == program_id).scalar_subquery()
    return _bump(session, clock, WalletPass.card_id.in_(cards))
