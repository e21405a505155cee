"""Errors of the till, each with a stable machine-readable code for POS software."""

from __future__ import annotations

from app.loyalty.errors import LoyaltyError


class TillError(LoyaltyError):
    code = "till_error"


class CardBlockedError(TillError):
    code = "card_blocked"

    def __init__(self) -> None:
        super().__init__("this card is blocked")


class CardReplacedError(TillError):
    code = "card_replaced"

    def __init__(self) -> None:
        super().__init__("this card was replaced: ask for the new card")


class RedeemLimitError(TillError):
    code = "redeem_limit_exceeded"

    def __init__(self, maximum: int) -> None:
        self.maximum = maximum
        super().__init__(f"at most {maximum} points can pay for this purchase")


class BarcodeRequiredError(TillError):
    code = "barcode_required"

    def __init__(self) -> None:
        super().__init__("spending points needs the card's scanned code, not only its number")


class DuplicateConflictError(TillError):
    code = "duplicate_conflict"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} was already recorded by this terminal with different data")


class UnknownReceiptError(TillError):
    code = "unknown_receipt"

    def __init__(self) -> None:
        super().__init__("this terminal recorded no receipt with that receipt_id")


class RefundExceedsError(TillError):
    code = "refund_exceeds_receipt"

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining
        super().__init__(f"only {remaining} of this receipt's amount is left to refund")


class UnauthorizedTerminalError(TillError):
    code = "unauthorized"

    def __init__(self) -> None:
        super().__init__("missing, unknown or revoked terminal key")


class CodeExpiredError(TillError):
    code = "code_expired"

    def __init__(self) -> None:
        super().__init__("the code on the card has changed since: scan it again")


class CodeReusedError(TillError):
    code = "code_already_used"

    def __init__(self) -> None:
        super().__init__("this code was already used for a purchase: scan the card again")


class RotatingCodeRequiredError(TillError):
    code = "rotating_code_required"

    def __init__(self) -> None:
        super().__init__(
            "this card shows a rotating code in Google Wallet: scan the live code on the "
            "phone to spend points (the static code and the number only earn)"
        )
