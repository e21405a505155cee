"""Read-only answers for the till: what a purchase would do before it is recorded,
and the terminal's recent receipts (what a cashier refunds from).

Nothing here writes: a quote locks no card, spends no rotating code and expires no
lots (it counts overdue lots out of the balance instead), so it may be asked any
number of times while the cashier corrects the amount.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.loyalty.models import TotpUse
from app.services.till import PurchaseRequest, find_card, spendable_balance
from app.till import rules as till_rules
from app.till.errors import BarcodeRequiredError, CodeReusedError
from app.till.models import Receipt, Refund, Terminal

MAX_RECENT = 50


@dataclass(frozen=True)
class PurchaseQuote:
    card_number: str | None
    member_name: str | None
    tier_name: str | None
    scanned: bool  # the card's barcode was presented: only then may points pay
    amount: int
    discount_percent: float
    discount_amount: int
    redeemable_max: int  # points this purchase would accept (0 without a scanned card)
    points_redeemed: int
    amount_due: int
    points_earned: int
    balance: int | None
    balance_after: int | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def quote_purchase(
    session: Session, clock: Clock, terminal: Terminal, req: PurchaseRequest, locale: str
) -> PurchaseQuote:
    """What ``record_purchase`` would do with ``req``, refusing exactly what it would
    refuse (unknown or blocked card, stale or spent code, too many points)."""
    program = terminal.program
    now = clock.now()
    if req.redeem_points and not req.barcode:
        raise BarcodeRequiredError()
    found = None
    balance = 0
    if req.barcode:
        found = find_card(session, program, req.barcode, now=now)
        if req.redeem_points and not found.scanned:
            raise BarcodeRequiredError()
        if found.totp_step is not None and session.scalar(
            select(TotpUse.id).where(
                TotpUse.card_id == found.card.id, TotpUse.step == found.totp_step
            )
        ):
            raise CodeReusedError()
        balance = spendable_balance(session, found.card, now)
    card = found.card if found else None
    discount_bp = card.tier.discount_bp if card else 0
    quote = till_rules.quote(
        req.amount,
        discount_bp=discount_bp,
        balance=balance,
        redeem=req.redeem_points,
        earn_rate_bp=program.earn_rate_bp if card else 0,
        max_share_bp=program.max_redeem_share_bp,
        point_value=program.point_value_minor,
    )
    cap = 0
    if found is not None and found.scanned:
        cap = till_rules.redeemable_max(
            req.amount - quote.discount_amount,
            balance,
            program.max_redeem_share_bp,
            program.point_value_minor,
        )
    return PurchaseQuote(
        card_number=card.number if card else None,
        member_name=card.member.name if card else None,
        tier_name=card.tier.name(locale) if card else None,
        scanned=found.scanned if found else False,
        amount=quote.amount,
        discount_percent=discount_bp / 100,
        discount_amount=quote.discount_amount,
        redeemable_max=cap,
        points_redeemed=quote.points_redeemed,
        amount_due=quote.amount_due,
        points_earned=quote.points_earned,
        balance=balance if card else None,
        balance_after=balance - quote.points_redeemed + quote.points_earned if card else None,
    )


@dataclass(frozen=True)
class RecentReceipt:
    receipt_id: str
    created_at: datetime
    card_number: str | None
    amount: int
    amount_due: int
    points_redeemed: int
    points_earned: int
    refunded: int  # of ``amount``, by refunds so far
    refundable: int

    def as_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["created_at"] = self.created_at.isoformat()
        return body


def recent_receipts(session: Session, terminal: Terminal, limit: int) -> list[RecentReceipt]:
    """The terminal's latest receipts, newest first, with what is left to refund."""
    refunded = (
        select(Refund.receipt_pk, func.sum(Refund.amount).label("total"))
        .where(Refund.terminal_id == terminal.id)
        .group_by(Refund.receipt_pk)
        .subquery()
    )
    rows = session.execute(
        select(Receipt, func.coalesce(refunded.c.total, 0))
        .outerjoin(refunded, refunded.c.receipt_pk == Receipt.id)
        .where(Receipt.terminal_id == terminal.id)
        .order_by(Receipt.created_at.desc(), Receipt.id.desc())
        .limit(min(limit, MAX_RECENT))
    ).all()
    return [
        RecentReceipt(
            receipt_id=receipt.receipt_id,
            created_at=receipt.created_at,
            card_number=receipt.card.number if receipt.card is not None else None,
            amount=receipt.amount,
            amount_due=receipt.amount_due,
            points_redeemed=receipt.points_redeemed,
            points_earned=receipt.points_earned,
            refunded=int(total),
            refundable=receipt.amount - int(total),
        )
        for receipt, total in rows
    ]
