"""A card was added to a wallet: remember when, and award the install bonus once.

Each program chooses when the bonus is paid (``programs.install_bonus_when``):
``on_install`` pays it with the first registration or Google save; ``on_first_purchase``
records the install and pays the bonus with the card's first purchase at a till after
it, so registering a made-up device earns a script nothing it can spend. Either way the
bonus is one ledger lot per card under the unique key ``install-bonus:<card id>``,
and at most one per phone number, ever: the paying card claims the number's keyed hash
(``install_bonus_claims``), which outlives an erasure of the member, so erasing and
enrolling again does not pay twice.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty import ledger
from app.loyalty.models import Card, InstallBonusClaim, LedgerEntry
from app.passes.sync import mark_card_changed
from app.services import campaigns
from app.services.phone_keys import phone_hash

WALLETS = ("apple", "google")
ON_INSTALL, ON_FIRST_PURCHASE = "on_install", "on_first_purchase"
BONUS_WHEN = (ON_INSTALL, ON_FIRST_PURCHASE)


def bonus_key(card_id: int) -> str:
    return f"install-bonus:{card_id}"


def _number_state(session: Session, card: Card) -> str:
    """``free`` (no card claimed the number), ``mine`` (this card did), ``taken`` (another
    card did) or ``erased`` (the member was erased: the card earns nothing). The number
    is the member's phone under its keyed hash."""
    member = card.member
    if member.erased_at is not None:
        return "erased"
    claim = session.scalar(
        select(InstallBonusClaim).where(
            InstallBonusClaim.program_id == card.program_id,
            InstallBonusClaim.phone_hash == phone_hash(session, member.phone),
        )
    )
    if claim is None:
        return "free"
    return "mine" if claim.card_id == card.id else "taken"


def claim_number(session: Session, clock: Clock, card: Card) -> bool:
    """Claim the card's phone number for its install bonus; False when another card of
    the same number (an erased member's) already had it. The unique key decides races."""
    state = _number_state(session, card)
    if state != "free":
        return state == "mine"
    try:
        with session.begin_nested():
            session.add(
                InstallBonusClaim(
                    program_id=card.program_id,
                    phone_hash=phone_hash(session, card.member.phone),
                    card_id=card.id,
                    claimed_at=clock.now(),
                )
            )
    except IntegrityError:
        return False
    return True


def record_install(session: Session, clock: Clock, card_id: int, wallet: str) -> bool:
    """Returns True when this install earned the registration bonus.

    The bonus is keyed per card, not per wallet: installing on iPhone and Android,
    re-installing, a second device or a retry never pays twice. Under
    ``on_first_purchase`` the install is only recorded (see ``pay_pending_bonus``).
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
    if (
        program.registration_bonus > 0
        and program.install_bonus_when == ON_INSTALL
        and claim_number(session, clock, card)
    ):
        awarded = (
            ledger.award(
                session,
                card.id,
                points=program.registration_bonus,
                kind="bonus",
                now=now,
                valid_days=program.registration_bonus_days,
                reference="install",
                idempotency_key=bonus_key(card.id),
            )
            is not None
        )
    if awarded:
        mark_card_changed(session, clock, card.id)
    if first_install:
        campaigns.fire_trigger(session, clock, card.program_id, "welcome", card.id)
    session.flush()
    return awarded


def _installed(card: Card) -> bool:
    return card.apple_installed_at is not None or card.google_installed_at is not None


def bonus_paid(session: Session, card: Card) -> bool:
    key = bonus_key(card.id)
    return (
        session.scalar(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == key)) is not None
    )


def pending_bonus(session: Session, card: Card) -> int:
    """Points the card will get with its next purchase at a till: the install bonus of a
    card installed under ``on_first_purchase`` and not paid yet, else 0."""
    program = card.program
    if (
        program.install_bonus_when != ON_FIRST_PURCHASE
        or program.registration_bonus <= 0
        or not _installed(card)
        or bonus_paid(session, card)
        or _number_state(session, card) in ("taken", "erased")
    ):
        return 0
    return program.registration_bonus


def pay_pending_bonus(session: Session, clock: Clock, card: Card, reference: str) -> int:
    """At a purchase, on a card locked by the caller: pay the pending install bonus
    (at most once per card, whatever retries and races do). Returns the points paid."""
    points = pending_bonus(session, card)
    if not points or not claim_number(session, clock, card):
        return 0
    entry = ledger.credit(
        session,
        card,
        points=points,
        kind="bonus",
        now=clock.now(),
        valid_days=card.program.registration_bonus_days,
        reference=reference,
        idempotency_key=bonus_key(card.id),
    )
    return points if entry is not None else 0


def bonus_hint(session: Session, card: Card) -> str | None:
    """What the card page says about the install bonus: ``"offered"`` (add the card to
    get it), ``"offered_first_purchase"`` (add it, the points come with the first
    purchase), ``"pending"`` (installed, the points come with the next purchase), or
    None (no bonus, or paid)."""
    program = card.program
    if program.registration_bonus <= 0:
        return None
    if not _installed(card):
        return "offered" if program.install_bonus_when == ON_INSTALL else "offered_first_purchase"
    return "pending" if pending_bonus(session, card) else None
