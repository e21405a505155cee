"""Support's work on a card: tier, block, replace, phone, merging duplicates, the link.

Every action takes a reason from the person doing it, is audited, and updates what the
phones show (the pass is marked changed in the same transaction).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.bounds import CONTROL_MESSAGE, has_control_characters
from app.clock import Clock
from app.db import new_public_id
from app.loyalty import ledger, rules, totp
from app.loyalty.errors import ValidationError
from app.loyalty.models import Card, LedgerEntry, Member, Tier
from app.passes.models import WalletPass
from app.passes.sync import mark_card_changed, mark_changed
from app.services import cards, invites
from app.services.staff import audit
from app.staff.models import StaffUser

Actor = StaffUser | str
_NUMBER_ATTEMPTS = 5


def check_reason(reason: str) -> str:
    """The reason, tidied; ValidationError unless it says something (3-500 characters)."""
    reason = " ".join((reason or "").split())
    if not 3 <= len(reason) <= 500:
        raise ValidationError({"reason": "is required (3 to 500 characters): say why"})
    if has_control_characters(reason):
        raise ValidationError({"reason": CONTROL_MESSAGE})
    return reason


def masked_phone(phone: str) -> str:
    """A phone as the audit log keeps it: enough to tell two apart, not to call."""
    return "…" + phone[-4:] if len(phone) > 4 else "…"


def set_tier(
    session: Session, clock: Clock, card: Card, tier_code: str, reason: str, actor: Actor
) -> Tier:
    """The console's tier change: always with a reason (a document seen, a decision)."""
    return cards.set_tier(session, clock, card, tier_code, check_reason(reason), actor)


def set_blocked(
    session: Session, clock: Clock, card: Card, blocked: bool, reason: str, actor: Actor
) -> None:
    """Block a card (the till refuses it, the pass shows void) or unblock it."""
    reason = check_reason(reason)
    if card.merged_into_id is not None and not blocked:
        raise ValidationError({"card": "was merged into another card and stays blocked"})
    status = "blocked" if blocked else "active"
    if card.status == status:
        return
    card.status = status
    session.flush()
    mark_card_changed(session, clock, card.id)
    audit(session, clock, actor, f"card.{status}", card.number, {"reason": reason})


def replace_card(session: Session, clock: Clock, card: Card, reason: str, actor: Actor) -> Card:
    """A new number, barcode, rotating-code key and link for the same card row, so the
    balance, points history and purchases stay. The old pass stays with its old number,
    voided and pushed to the phones that hold it; the till refuses the old number with
    ``card_replaced``. The new pass is not in any wallet until the holder adds it (send
    the link)."""
    reason = check_reason(reason)
    if card.merged_into_id is not None:
        raise ValidationError({"card": "was merged into another card: replace that one"})
    locked = ledger.lock_card(session, card.id)
    now = clock.now()
    old_pass = cards.wallet_pass_of(session, locked)
    old_number = locked.number
    old_pass.voided_at, old_pass.voided_number = now, old_number
    session.flush()  # the old pass leaves the live-pass index before the new one comes
    for attempt in range(_NUMBER_ATTEMPTS):
        try:
            with session.begin_nested():
                locked.number = rules.new_card_number()
                session.flush()
            break
        except IntegrityError:  # a random number collided (1 in 10^11): draw again
            if attempt == _NUMBER_ATTEMPTS - 1:
                raise
    locked.barcode_secret = rules.new_barcode_secret()
    locked.totp_secret = totp.new_secret_hex()
    locked.public_id = new_public_id()
    locked.status = "active"
    locked.apple_installed_at = locked.google_installed_at = None
    session.add(
        WalletPass(
            card_id=locked.id,
            serial_number=new_public_id(),
            auth_token=secrets.token_urlsafe(24),
            version=1,
            updated_at=now,
            last_modified=int(now.timestamp()),
            created_at=now,
        )
    )
    session.flush()
    mark_changed(session, clock, [old_pass.id])
    audit(
        session,
        clock,
        actor,
        "card.replaced",
        locked.number,
        {"old_number": old_number, "reason": reason},
    )
    session.flush()
    return locked


def change_phone(
    session: Session, clock: Clock, member: Member, raw: str, reason: str, actor: Actor
) -> str:
    """The member's phone, normalised the way enrollment does; unique in the program.
    The audit keeps the last four digits of both numbers, not the numbers."""
    reason = check_reason(reason)
    phone = rules.normalise_phone(raw or "", member.program.phone_region)
    if phone is None:
        raise ValidationError({"phone": "is not a valid phone number"})
    if phone == member.phone:
        return phone
    taken = session.scalar(
        select(Member.id).where(Member.program_id == member.program_id, Member.phone == phone)
    )
    if taken is not None:
        raise ValidationError({"phone": "belongs to another member of the program"})
    old = member.phone
    try:
        with session.begin_nested():
            member.phone = phone
            session.flush()
    except IntegrityError:  # taken by a concurrent change
        member.phone = old
        raise ValidationError({"phone": "belongs to another member of the program"}) from None
    audit(
        session,
        clock,
        actor,
        "member.phone_changed",
        member.card.number if member.card else None,
        {"old": masked_phone(old), "new": masked_phone(phone), "reason": reason},
    )
    return phone


def merge_members(
    session: Session, clock: Clock, keep: Card, other: Card, reason: str, actor: Actor
) -> int:
    """Merge the duplicate ``other`` into ``keep`` (same program). Its points move as
    ledger entries (a debit there, one lot here per open lot, with the lot's expiry);
    its card is blocked and marked merged (its pass shows void, the till refuses it);
    its purchases and history stay on it, linked from the kept card. The kept member
    takes the other's e-mail and birthday where it has none. Returns the points moved."""
    reason = check_reason(reason)
    if keep.id == other.id:
        raise ValidationError({"other": "is the same card"})
    if keep.program_id != other.program_id:
        raise ValidationError({"other": "is a card of another program"})
    if other.merged_into_id is not None or keep.merged_into_id is not None:
        raise ValidationError({"other": "was already merged"})
    first, second = sorted([keep.id, other.id])  # one lock order: no deadlock
    locked = {first: ledger.lock_card(session, first), second: ledger.lock_card(session, second)}
    kept, gone = locked[keep.id], locked[other.id]
    now = clock.now()
    ledger.expire_due(session, gone, now)
    lots = [  # (points left, expiry), read before the debit spends them
        (lot.remaining, lot.expires_at)
        for lot in session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.card_id == gone.id, LedgerEntry.remaining > 0)
            .order_by(LedgerEntry.id)
        )
    ]
    moved = gone.balance
    if moved > 0:
        ledger.debit(
            session, gone, points=moved, kind="adjust", now=now, reference=f"merge:{kept.number}"
        )
        for points, expires_at in lots:
            entry = ledger.credit(
                session,
                kept,
                points=points,
                kind="adjust",
                now=now,
                valid_days=None,
                reference=f"merge:{gone.number}",
                note=reason,
            )
            if entry is not None:
                entry.expires_at = expires_at
    member, duplicate = kept.member, gone.member
    member.email = member.email or duplicate.email
    member.birthday = member.birthday or duplicate.birthday
    gone.status, gone.merged_into_id = "blocked", kept.id
    session.flush()
    mark_card_changed(session, clock, kept.id)
    mark_card_changed(session, clock, gone.id)
    audit(
        session,
        clock,
        actor,
        "member.merged",
        kept.number,
        {"merged": gone.number, "points": moved, "reason": reason},
    )
    session.flush()
    return moved


class ChannelOffError(Exception):
    """No invite channel can reach the member: ``missing`` says which setting would."""

    def __init__(self, missing: str) -> None:
        self.missing = missing
        super().__init__(missing)


@dataclass(frozen=True)
class LinkSent:
    channel: str


def merge_numbered(
    session: Session, clock: Clock, keep: Card, other_number: str, reason: str, actor: Actor
) -> int:
    """``merge_members`` with the duplicate named by its number in the same program."""
    other = cards.card_numbered(session, keep.program_id, "".join(other_number.split()))
    if other is None:
        raise ValidationError({"other": "no such card in the program"})
    return merge_members(session, clock, keep, other, reason, actor)


def resend_link(
    session: Session,
    clock: Clock,
    queue: invites.InviteQueue,
    card: Card,
    channels_on: Collection[str],
    channels_off: Mapping[str, str],
    actor: Actor,
) -> LinkSent:
    """Send the card-page link again by SMS (or e-mail when SMS is off and the member
    gave one). ChannelOffError names the missing setting when neither can go."""
    if card.status != "active":
        raise ValidationError({"card": "is blocked: replace or unblock it first"})
    channel = invites.channel_for(card.member, channels_on)
    if channel is None:
        reasons = [channels_off.get("sms", "")]
        if card.member.email:
            reasons.append(channels_off.get("email", ""))
        raise ChannelOffError("; ".join(r for r in reasons if r) or "no channel")
    invites.add(session, clock, queue, card, channel, "console")
    audit(session, clock, actor, "card.link_sent", card.number, {"channel": channel})
    return LinkSent(channel)


def request_link(
    session: Session,
    clock: Clock,
    queue: invites.InviteQueue,
    program_id: int,
    phone: str,
    channels_on: Collection[str],
) -> bool:
    """A shopper asks ``/join`` for their card link again: sent to the phone (or the
    e-mail on file) of the member with this normalised phone. The caller answers the
    same whatever this returns (whether the phone is enrolled stays unknown)."""
    card = session.scalar(
        select(Card)
        .join(Member, Member.id == Card.member_id)
        .where(Member.program_id == program_id, Member.phone == phone, Card.status == "active")
    )
    if card is None:
        return False
    channel = invites.channel_for(card.member, channels_on)
    if channel is None:
        return False
    invites.add(session, clock, queue, card, channel, "site")
    return True
