"""Domain errors. app/web/errors.py turns them into HTTP responses."""

from __future__ import annotations

from collections.abc import Mapping

from app.errors import DomainError


class LoyaltyError(DomainError):
    """Base of the loyalty core's errors."""

    code = "loyalty_error"


class ValidationError(LoyaltyError):
    """Input failed validation; ``fields`` maps a field name to what is wrong."""

    code = "validation_failed"

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = dict(fields)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.fields.items()))


class UnknownProgramError(LoyaltyError):
    code = "unknown_program"

    def __init__(self, slug: str) -> None:
        self.slug = slug
        super().__init__(f"no loyalty program {slug!r}")


class AlreadyEnrolledError(LoyaltyError):
    """The phone already has a card in this program (which one is never said)."""

    code = "already_enrolled"

    def __init__(self) -> None:
        super().__init__("this phone number is already enrolled in the program")


class UnknownCardError(LoyaltyError):
    code = "unknown_card"

    def __init__(self) -> None:
        super().__init__("no such card")


class InsufficientPointsError(LoyaltyError):
    code = "insufficient_points"

    def __init__(self, balance: int) -> None:
        self.balance = balance
        super().__init__(f"the card has only {balance} points")


class ProgramClosedError(LoyaltyError):
    """The program is archived: it takes no new members."""

    code = "program_closed"

    def __init__(self) -> None:
        super().__init__("the program is closed to new members")
