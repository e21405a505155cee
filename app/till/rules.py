"""The arithmetic of a purchase and of a refund. Integers only: minor units, points."""

from __future__ import annotations

from dataclasses import dataclass

from app.loyalty.errors import InsufficientPointsError
from app.till.errors import RedeemLimitError

BP = 10_000  # basis points in a whole


def discount_of(amount: int, discount_bp: int) -> int:
    """The tier discount in minor units, rounded half up."""
    return (amount * discount_bp + BP // 2) // BP


def redeemable_max(after_discount: int, balance: int, max_share_bp: int, point_value: int) -> int:
    """Most points that may pay for a purchase: the program's share cap, and the balance."""
    return min(balance, after_discount * max_share_bp // BP // point_value)


@dataclass(frozen=True)
class PurchaseQuote:
    amount: int
    discount_bp: int
    discount_amount: int
    points_redeemed: int
    amount_due: int
    points_earned: int


def quote(
    amount: int,
    *,
    discount_bp: int,
    balance: int,
    redeem: int,
    earn_rate_bp: int,
    max_share_bp: int,
    point_value: int,
) -> PurchaseQuote:
    """Discount first, then points pay part of the rest, then points are earned on
    the money actually paid (never on the part paid with points)."""
    discount = discount_of(amount, discount_bp)
    after_discount = amount - discount
    if redeem > balance:
        raise InsufficientPointsError(balance)
    cap = redeemable_max(after_discount, balance, max_share_bp, point_value)
    if redeem > cap:
        raise RedeemLimitError(cap)
    due = after_discount - redeem * point_value
    earned = due * earn_rate_bp // (BP * point_value)
    return PurchaseQuote(amount, discount_bp, discount, redeem, due, earned)


@dataclass(frozen=True)
class RefundSplit:
    money_back: int
    points_returned: int
    points_taken_back: int


def _share(total: int, part: int, whole: int) -> int:
    return total * part // whole


def refund_split(
    *,
    amount: int,
    refunded_before: int,
    receipt_amount: int,
    amount_due: int,
    points_redeemed: int,
    points_earned: int,
) -> RefundSplit:
    """What goes back for refunding ``amount`` (of the pre-discount amount).

    Computed on cumulative totals so that refunding a receipt in several parts
    gives back exactly what one full refund would: no rounding drift.
    """
    after = refunded_before + amount

    def delta(total: int) -> int:
        return _share(total, after, receipt_amount) - _share(total, refunded_before, receipt_amount)

    return RefundSplit(delta(amount_due), delta(points_redeemed), delta(points_earned))
