"""API keys (terminals, staff API tokens): shown once, stored as a hash, found by prefix.

Keys carry 256 random bits, so a fast hash is enough (no password stretching).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class NewKey:
    key: str  # give to the user once
    prefix: str  # stored, for lookup and display
    digest: str  # stored


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key(kind: str) -> NewKey:
    prefix = secrets.token_hex(4)
    key = f"{kind}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(key, prefix, key_hash(key))


def split(kind: str, key: str | None) -> str | None:
    """The prefix of a key of this kind, or None if it is not one."""
    parts = (key or "").split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == kind and parts[1] else None


def matches(stored_digest: str | None, key: str | None) -> bool:
    """Constant-time check; pass stored_digest=None for an unknown prefix."""
    expected = stored_digest or "0" * 64
    return hmac.compare_digest(expected, key_hash(key or "")) and stored_digest is not None
