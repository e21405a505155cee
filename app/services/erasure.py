"""Erasing a member's personal data (the right to erasure, 152-FZ art. 21, GDPR art. 17).

What goes, in the caller's transaction:
- name, phone, e-mail, birthday; the marketing consent is kept only as "withdrawn";
- the card stops working: status ``erased`` (the till refuses it), a new barcode
  secret and rotating-code key (old screenshots are worthless), a new card-page id
  (the old link answers 404), its own offers and the staff's tier reason;
- free text that staff may have written about the person: ledger notes, adjustment
  reasons (also in the audit log), invite gateway errors; queued invites are dropped,
  Google campaign messages of the pass deleted.

What stays, anonymised: the member and card rows (ids, tier, balance, stage, dates),
receipts, ledger and campaign targets, so totals and KPIs do not move; and, when the
install bonus was paid, the keyed hash of the phone (install_bonus_claims), so that
number never earns it again.

The wallets are told through the usual outbox: the pass is marked changed, the worker
pushes (APNs, relays) and PATCHes the Google object to EXPIRED; a phone that asks then
downloads a voided pass. Device registrations are deleted afterwards by the daily job
(``release_erased_devices``): a registration is what lets Wallet ask for the changed
pass after the push, so deleting it in the erasure itself would leave the live card on
the phone.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from app.clock import Clock
from app.db import new_public_id
from app.loyalty import ledger, rules, totp
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, LedgerEntry, Member
from app.messaging.models import Invite
from app.passes.models import AppleDevice, AppleRegistration, GoogleMessage, WalletPass
from app.passes.sync import mark_card_changed
from app.services import installs, pass_renderings, wallet_counts
from app.services.staff import audit
from app.staff.models import AuditEntry, PendingAdjustment, StaffUser

ERASED = "[erased]"
WITHDRAWN = "withdrawn"
# How long registrations of an erased card's pass stay after the voided pass was pushed:
# long enough for a phone that was off to come back and fetch it.
DEVICE_GRACE = timedelta(days=3)
DEVICE_DEADLINE = timedelta(days=30)


def erased_phone(member_id: int) -> str:
    """What stands in the phone column of an erased member (unique per program, never a
    number: the till and the search cannot find it)."""
    return f"erased-{member_id}"


def erase(session: Session, clock: Clock, card: Card, actor: StaffUser | str) -> None:
    """Erase the personal data of the card's member (see the module docstring).
    Raises ValidationError if it was erased already."""
    card = ledger.lock_card(session, card.id)
    member = card.member
    if member.erased_at is not None:
        raise ValidationError({"card": "the member's data was erased already"})
    now = clock.now()
    if installs.bonus_paid(session, card):
        installs.claim_number(session, clock, card)  # keeps the number's keyed hash
    member.name, member.phone = "", erased_phone(member.id)
    member.email, member.birthday = None, None
    member.marketing_consent, member.marketing_consent_at = False, None
    member.marketing_consent_source, member.marketing_consent_text = WITHDRAWN, None
    member.erased_at = now
    card.status = "erased"
    card.barcode_secret = rules.new_barcode_secret()
    card.totp_secret = totp.new_secret_hex()
    card.public_id = new_public_id()
    card.offer_en = card.offer_ru = card.tier_reason = None
    session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.card_id == card.id, LedgerEntry.note.is_not(None))
        .values(note=None)
    )
    session.execute(
        update(PendingAdjustment).where(PendingAdjustment.card_id == card.id).values(reason=ERASED)
    )
    _scrub_audit(session, card.number)
    session.execute(
        update(Invite)
        .where(Invite.member_id == member.id, Invite.status == "queued")
        .values(status="failed", error=ERASED)
    )
    session.execute(
        update(Invite)
        .where(Invite.member_id == member.id, Invite.error.is_not(None))
        .values(error=ERASED)
    )
    pass_ids = select(WalletPass.id).where(WalletPass.card_id == card.id)
    session.execute(delete(GoogleMessage).where(GoogleMessage.pass_id.in_(pass_ids)))
    pass_renderings.forget_card(session, card.id)
    mark_card_changed(session, clock, card.id)
    audit(session, clock, actor, "member.erased", card.number, {"member_id": member.id})
    session.flush()


def _scrub_audit(session: Session, card_number: str) -> None:
    """Staff reasons about this card in the audit log may name the person."""
    rows = session.scalars(select(AuditEntry).where(AuditEntry.target == card_number))
    for row in rows:
        if row.details and "reason" in row.details:
            row.details = {**row.details, "reason": ERASED}


def release_erased_devices(session: Session, now: datetime) -> int:
    """Delete the device registrations of erased cards' passes once the voided pass was
    pushed and ``DEVICE_GRACE`` passed (at the latest after ``DEVICE_DEADLINE``, pushed or
    not), and those devices when no other pass is left on them. Returns how many
    registrations went."""
    passes = (
        select(WalletPass.id)
        .join(Card, Card.id == WalletPass.card_id)
        .join(Member, Member.id == Card.member_id)
        .where(
            Member.erased_at.is_not(None),
            Member.erased_at <= now - DEVICE_GRACE,
            or_(
                WalletPass.apns_delivered_version >= WalletPass.version,
                Member.erased_at <= now - DEVICE_DEADLINE,
            ),
        )
    )
    rows = session.execute(
        select(AppleRegistration.id, AppleRegistration.device_id).where(
            AppleRegistration.pass_id.in_(passes)
        )
    ).all()
    if not rows:
        return 0
    wallet_counts.unregistered(session, [r.id for r in rows])
    session.execute(
        delete(AppleRegistration)
        .where(AppleRegistration.id.in_([r.id for r in rows]))
        .execution_options(synchronize_session=False)
    )
    others = select(AppleRegistration.id).where(AppleRegistration.device_id == AppleDevice.id)
    session.execute(
        delete(AppleDevice)
        .where(AppleDevice.id.in_({r.device_id for r in rows}), ~others.exists())
        .execution_options(synchronize_session=False)
    )
    return len(rows)


def confirmation_matches(card: Card, typed: object) -> bool:
    """The typed confirmation: the card number, spaces ignored."""
    if not isinstance(typed, str):
        return False
    return secrets.compare_digest("".join(typed.split()), card.number)
