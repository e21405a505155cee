"""Errors of the pass web services, each with a stable code (see app/web/errors.py)."""

from __future__ import annotations

from app.errors import DomainError


class TooManyDevicesError(DomainError):
    """The pass already has as many registered devices as a pass may have.

    Waiting does not help, only a device leaving does (so the web answers 403, not 429).
    Wallet logs the failure and tries again later; nothing is stored meanwhile.
    """

    code = "too_many_devices"

    def __init__(self, cap: int) -> None:
        self.cap = cap
        super().__init__(
            f"this pass is already registered on {cap} devices, the most a pass may have: "
            "remove it from a device first"
        )
