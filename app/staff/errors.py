"""Errors of staff accounts."""

from __future__ import annotations

from app.errors import DomainError


class ForbiddenError(DomainError):
    code = "forbidden"
    status = 403

    def __init__(self, role: str) -> None:
        super().__init__(f"this needs another role than {role}")
