"""A card was added to a wallet: remember when, and award the install bonus once."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty import ledger
from app.passes.sync import mark_card_changed
from app.services import campaigns

WALLETS = ("apple", "google")


def record_install(session: Session, clock: Clock, card_id: int, wallet: str) -> bool:
    """Returns True when this install earned the registration bonus.

    The bonus is keyed per card, not per wallet: installing on iPhone and Android,
    re-installing, a second device or a retry never pays twice.
    """
    if wallet not in WALLETS:
        raise ValueError(f"unknown wallet {wallet!r}")
    now = clock.now()
    card = ledger.lock_card(session, card_id)
    column = "apple_installed_at" if wallet == "apple" else "google_installed_at"
    first_install = card.apple_installed_at is None and card.google_installed_at is None
    if getattr(card, column) is None:
        setattr(card, column, now)
    program = card.program
    awarded = False
    if program.registration_bonus > 0:
        awarded = (
            ledger.award(
                session,
                card.id,
                points=program.registration_bonus,
                kind="bonus",
                now=now,
                valid_days=program.registration_bonus_days,
                reference="install",
                idempotency_key=f"install-bonus:{card.id}",
            )
            is not None
        )
    if awarded:
        mark_card_changed(session, clock, card.id)
    if first_install:
        campaigns.fire_trigger(session, clock, card.program_id, "welcome", card.id)
    session.flush()
    return awarded
