"""A small, hand-checked history of cards arriving in and leaving wallet apps, made
through the real services (registrations, Google callbacks) with the clock moved.

Card  what happened (2026, UTC noon = 15:00 Moscow)            where it is now
c1    Mar 2 Apple Wallet                                        apple_wallet
c2    Mar 3 WalletUnion                                         walletunion
c3    Mar 4 Google save                                         google_wallet
c4    Mar 9 Google save, Mar 10 Google delete, Mar 10 PassWallet passwallet
c5    Mar 11 Wallet Passes, Mar 16 unregistered                 nowhere
c6    Mar 17 Apple Wallet and Wallet Passes (two phones)        apple_wallet, walletpasses
c7    Mar 18 an Android app we cannot name                      unknown
c8    Feb 20 Apple Wallet (before March)                        apple_wallet
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bootstrap import Services
from app.clock import FixedClock
from app.loyalty.models import Program
from app.passes.google.callbacks import CallbackMessage
from app.passes.models import WalletPass
from app.services import enrollment, google_wallet, passkit


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


def build(session: Session, services: Services, program: Program) -> None:
    clock = services.clock
    assert isinstance(clock, FixedClock)
    saved = clock.now()
    clock.set(at(2, 1))
    refs: dict[str, passkit.PassRef] = {}
    for i in range(1, 9):
        form = enrollment.EnrollmentForm(
            name=f"W{i}", phone=f"+7903111000{i}", consent=True, marketing_consent=True
        )
        card = enrollment.enroll(
            session, clock, program, enrollment.validate(form, program, clock.now().date())
        )
        p = session.scalars(select(WalletPass).where(WalletPass.card_id == card.id)).one()
        refs[f"c{i}"] = passkit.PassRef(p.id, card.id, p.serial_number, p.last_modified)
    session.commit()
    nonce = 0

    def register(card: str, when: datetime, app: str, device: str | None = None) -> None:
        clock.set(when)
        who = passkit.Registrant(device or f"{card}-{app}", f"token-{card}-{app}", app)
        assert passkit.register(session, clock, refs[card], who)
        session.commit()

    def google(card: str, when: datetime, kind: str) -> None:
        nonlocal nonce
        clock.set(when)
        ref = refs[card]
        google_wallet.record_object(session, clock, ref.id, f"issuer.{card}", 1)
        nonce += 1
        message = CallbackMessage("issuer.class", f"issuer.{card}", kind, 0, 1, f"n{nonce}")
        google_wallet.handle_callback(session, clock, message)
        session.commit()

    register("c8", at(2, 20), "apple_wallet")
    register("c1", at(3, 2), "apple_wallet")
    register("c2", at(3, 3), "walletunion")
    google("c3", at(3, 4), "save")
    google("c4", at(3, 9), "save")
    google("c4", at(3, 10), "del")
    register("c4", at(3, 10), "passwallet")
    register("c5", at(3, 11), "walletpasses")
    clock.set(at(3, 16))
    passkit.unregister(session, clock, refs["c5"], "c5-walletpasses")
    session.commit()
    register("c6", at(3, 17), "apple_wallet")
    register("c6", at(3, 17), "walletpasses")
    register("c7", at(3, 18), "unknown")
    clock.set(saved)


# Where the cards are now, per segment ``wallet`` value.
SIZES = {
    "apple": 3,
    "apple_wallet": 3,
    "google": 1,
    "android_pkpass": 4,
    "any": 7,
    "none": 1,
    "walletunion": 1,
    "passwallet": 1,
    "walletpasses": 1,
    "unknown": 1,
    "pass2u": 0,
    "passworks": 0,
    "walletunion_hms": 0,
    "passhub": 0,
}
