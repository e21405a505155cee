"""Errors of staff accounts."""

from __future__ import annotations

from app.errors import DomainError


class ForbiddenError(DomainError):
    code = "forbidden"

    def __init__(self, role: str) -> None:
        super().__init__(f"this needs another role than {role}")


class StaffStateError(DomainError):
    """A change to staff accounts that their current state does not allow."""

    code = "conflict"
