"""Everything we hold about one member, as JSON (the right of access, 152-FZ art. 14,
GDPR art. 15 and 20).

Left out on purpose: credentials and capabilities that are not information about the
person and would let whoever holds the file act as the card or the phone: push tokens
and wallet library ids, the pass's authentication token, the barcode secret and the
rotating-code key, the card-page id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign, CampaignTarget
from app.clock import Clock
from app.loyalty.models import Card, LedgerEntry, Member, StageTransition
from app.messaging.models import Invite
from app.passes.models import AppleDevice, AppleRegistration, GoogleObject, WalletPass
from app.services import consents
from app.services.staff import audit
from app.staff.models import StaffUser
from app.till.models import Receipt, Refund

FORMAT = "walletpass.member-export/1"


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _consent_text(version: str | None) -> dict[str, str] | None:
    known = consents.TEXTS.get(version or "")
    return dict(known.texts) if known is not None else None


def member_data(session: Session, clock: Clock, card: Card) -> dict[str, Any]:
    member: Member = card.member
    program = card.program
    wallet_pass = session.scalar(select(WalletPass).where(WalletPass.card_id == card.id))
    pass_id = wallet_pass.id if wallet_pass is not None else -1
    return {
        "format": FORMAT,
        "exported_at": _iso(clock.now()),
        "controller": {"brand": program.brand_name, "program": program.slug},
        "member": {
            "name": member.name,
            "phone": member.phone if member.erased_at is None else None,
            "email": member.email,
            "birthday": _iso(member.birthday),
            "locale": member.locale,
            "enrolled_at": _iso(member.created_at),
            "stage": member.stage,
            "stage_since": _iso(member.stage_since),
            "erased_at": _iso(member.erased_at),
        },
        "consents": {
            "program": {
                "given_at": _iso(member.consent_at),
                "source": member.consent_source,
                "text_version": member.consent_text,
                "text": _consent_text(member.consent_text),
            },
            "marketing": {
                "given": member.marketing_consent,
                "changed_at": _iso(member.marketing_consent_at),
                "source": member.marketing_consent_source,
                "text_version": member.marketing_consent_text,
                "text": _consent_text(member.marketing_consent_text),
            },
        },
        "card": {
            "number": card.number,
            "status": card.status,
            "tier": card.tier.code,
            "tier_reason": card.tier_reason,
            "balance": card.balance,
            "offer": {"en": card.offer_en, "ru": card.offer_ru},
            "created_at": _iso(card.created_at),
            "apple_installed_at": _iso(card.apple_installed_at),
            "google_installed_at": _iso(card.google_installed_at),
        },
        "ledger": _ledger(session, card),
        "receipts": _receipts(session, card),
        "devices": _devices(session, pass_id),
        "google_wallet": _google(session, pass_id),
        "campaigns": _campaigns(session, card),
        "invites": _invites(session, member),
        "stage_history": [
            {"from": t.from_stage, "to": t.to_stage, "at": _iso(t.at)}
            for t in session.scalars(
                select(StageTransition)
                .where(StageTransition.member_id == member.id)
                .order_by(StageTransition.id)
            )
        ],
    }


def export(
    session: Session, clock: Clock, card: Card, actor: StaffUser | str, via: str
) -> dict[str, Any]:
    """The member's data; the export itself is audited (who, which card, how)."""
    data = member_data(session, clock, card)
    audit(session, clock, actor, "member.exported", card.number, {"via": via})
    session.flush()
    return data


def _ledger(session: Session, card: Card) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(LedgerEntry).where(LedgerEntry.card_id == card.id).order_by(LedgerEntry.id)
    )
    return [
        {
            "at": _iso(e.created_at),
            "kind": e.kind,
            "points": e.points,
            "remaining": e.remaining,
            "expires_at": _iso(e.expires_at),
            "reference": e.reference,
            "note": e.note,
        }
        for e in rows
    ]


def _receipts(session: Session, card: Card) -> list[dict[str, Any]]:
    receipts = list(
        session.scalars(select(Receipt).where(Receipt.card_id == card.id).order_by(Receipt.id))
    )
    refunds: dict[int, list[dict[str, Any]]] = {}
    if receipts:
        for r in session.scalars(
            select(Refund)
            .where(Refund.receipt_pk.in_([x.id for x in receipts]))
            .order_by(Refund.id)
        ):
            refunds.setdefault(r.receipt_pk, []).append(
                {
                    "at": _iso(r.created_at),
                    "refund_id": r.refund_id,
                    "amount": r.amount,
                    "money_back": r.money_back,
                    "points_returned": r.points_returned,
                    "points_taken_back": r.points_taken_back,
                }
            )
    return [
        {
            "at": _iso(r.created_at),
            "receipt_id": r.receipt_id,
            "store_id": r.store_id,
            "amount": r.amount,
            "discount_amount": r.discount_amount,
            "points_redeemed": r.points_redeemed,
            "points_earned": r.points_earned,
            "amount_due": r.amount_due,
            "lines": r.lines or [],
            "refunds": refunds.get(r.id, []),
        }
        for r in receipts
    ]


def _devices(session: Session, pass_id: int) -> list[dict[str, Any]]:
    """Which wallet apps hold the card, and since when; never tokens or library ids."""
    rows = session.execute(
        select(AppleDevice.wallet_app, AppleRegistration.created_at)
        .join(AppleRegistration, AppleRegistration.device_id == AppleDevice.id)
        .where(AppleRegistration.pass_id == pass_id)
        .order_by(AppleRegistration.id)
    ).all()
    return [{"wallet_app": app, "registered_at": _iso(at)} for app, at in rows]


def _google(session: Session, pass_id: int) -> dict[str, Any] | None:
    row = session.scalar(select(GoogleObject).where(GoogleObject.pass_id == pass_id))
    if row is None:
        return None
    return {"saved_at": _iso(row.saved_at), "removed_at": _iso(row.removed_at)}


def _campaigns(session: Session, card: Card) -> list[dict[str, Any]]:
    rows = session.execute(
        select(CampaignTarget, Campaign.name, Campaign.offer_en, Campaign.offer_ru)
        .join(Campaign, Campaign.id == CampaignTarget.campaign_id)
        .where(CampaignTarget.card_id == card.id)
        .order_by(CampaignTarget.id)
    ).all()
    return [
        {
            "campaign": name,
            "offer": {"en": en, "ru": ru},
            "targeted_at": _iso(t.targeted_at),
            "holdout": t.holdout,
            "skipped": t.skipped,
            "applied_at": _iso(t.applied_at),
        }
        for t, name, en, ru in rows
    ]


def _invites(session: Session, member: Member) -> list[dict[str, Any]]:
    rows = session.scalars(select(Invite).where(Invite.member_id == member.id).order_by(Invite.id))
    return [
        {
            "channel": i.channel,
            "source": i.source,
            "status": i.status,
            "created_at": _iso(i.created_at),
            "sent_at": _iso(i.sent_at),
            "opened_at": _iso(i.opened_at),
        }
        for i in rows
    ]
