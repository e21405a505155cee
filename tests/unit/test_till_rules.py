import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.loyalty.errors import InsufficientPointsError
from app.till import rules
from app.till.errors import RedeemLimitError

DEMO = {"earn_rate_bp": 500, "max_share_bp": 3000, "point_value": 100}


def test_tier_discount_then_points_then_earning_on_money_paid() -> None:
    # 10 000.00 ₽ at 7 %: 700.00 off; 1 000 points (1 000.00 ₽) pay part of the rest;
    # 5 % of the 8 300.00 ₽ paid in money is 415 points.
    q = rules.quote(1_000_000, discount_bp=700, balance=5000, redeem=1000, **DEMO)
    assert q.discount_amount == 70_000
    assert q.amount_due == 1_000_000 - 70_000 - 100_000
    assert q.points_earned == 415


def test_large_family_discount_is_fifteen_percent() -> None:
    q = rules.quote(200_000, discount_bp=1500, balance=0, redeem=0, **DEMO)
    assert (q.discount_amount, q.amount_due, q.points_earned) == (30_000, 170_000, 85)


def test_discount_rounds_half_up_to_the_minor_unit() -> None:
    assert rules.discount_of(1050, 700) == 74  # 73.5 -> 74
    assert rules.discount_of(1049, 700) == 73  # 73.43 -> 73


def test_points_cannot_pay_more_than_the_programs_share() -> None:
    # After 7 %: 930.00 ₽; 30 % of it is 279.00 ₽ = 279 points at most.
    assert rules.redeemable_max(93_000, 10_000, 3000, 100) == 279
    with pytest.raises(RedeemLimitError) as error:
        rules.quote(100_000, discount_bp=700, balance=10_000, redeem=280, **DEMO)
    assert error.value.maximum == 279
    q = rules.quote(100_000, discount_bp=700, balance=10_000, redeem=279, **DEMO)
    assert q.amount_due == 93_000 - 27_900


def test_points_cannot_exceed_the_balance() -> None:
    with pytest.raises(InsufficientPointsError) as error:
        rules.quote(1_000_000, discount_bp=700, balance=50, redeem=51, **DEMO)
    assert error.value.balance == 50


@given(
    amount=st.integers(1, 10**9),
    parts=st.lists(st.integers(1, 1000), min_size=1, max_size=6),
    due_share=st.floats(0, 1),
    redeemed=st.integers(0, 10**6),
    earned=st.integers(0, 10**6),
)
def test_refunding_in_parts_gives_back_exactly_what_one_full_refund_does(
    amount: int, parts: list[int], due_share: float, redeemed: int, earned: int
) -> None:
    due = int(amount * due_share)
    total = sum(parts)
    cuts = [amount * sum(parts[: i + 1]) // total for i in range(len(parts))]
    before, money, returned, taken = 0, 0, 0, 0
    for cut in cuts:
        if cut == before:
            continue
        split = rules.refund_split(
            amount=cut - before,
            refunded_before=before,
            receipt_amount=amount,
            amount_due=due,
            points_redeemed=redeemed,
            points_earned=earned,
        )
        money, returned, taken = (
            money + split.money_back,
            returned + split.points_returned,
            taken + split.points_taken_back,
        )
        before = cut
    assert (money, returned, taken) == (due, redeemed, earned)
