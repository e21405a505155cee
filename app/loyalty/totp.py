"""Rotating codes (RFC 6238 TOTP, SHA-1, 6 digits, 30 s) shown by Google cards that
use the anti-fraud barcode: ``<number>-<secret>-<code>``."""

from __future__ import annotations

import hashlib
import hmac
import secrets

PERIOD_SECONDS = 30
DIGITS = 6


def new_secret_hex() -> str:
    return secrets.token_hex(20)


def code_at(secret_hex: str, step: int) -> str:
    mac = hmac.new(bytes.fromhex(secret_hex), step.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = (int.from_bytes(mac[offset : offset + 4], "big") & 0x7FFFFFFF) % 10**DIGITS
    return f"{value:0{DIGITS}d}"


def step_of(unix_seconds: float) -> int:
    return int(unix_seconds // PERIOD_SECONDS)


def split_rotating(value: str) -> tuple[str, str] | None:
    """(static barcode, code) when ``value`` ends in a 6-digit rotating code."""
    head, sep, code = value.strip().rpartition("-")
    if sep and len(code) == DIGITS and code.isascii() and code.isdigit() and head.count("-") == 1:
        return head, code
    return None


def matching_step(secret_hex: str, code: str, unix_seconds: float) -> int | None:
    """The step whose code this is: the current one or the one before (clock drift and
    the seconds between showing and scanning), else None."""
    now = step_of(unix_seconds)
    for step in (now, now - 1):
        if hmac.compare_digest(code_at(secret_hex, step), code):
            return step
    return None
