"""Password hashing with scrypt (memory-hard), in a self-describing format."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

# 2**15 x 8 x 1 takes ~50 ms and 32 MiB: slow for guessing, fine for logging in.
N, R, P = 2**15, 8, 1
MIN_LENGTH = 12


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=N, r=R, p=P, maxmem=64 * 2**20, dklen=32
    )
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 2**20,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def password_problem(password: str, email: str) -> str | None:
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long"
    if email.split("@")[0].lower() in password.lower():
        return "must not contain the e-mail name"
    if len(set(password)) < 5:
        return "is too repetitive"
    return None


@functools.cache
def dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so both paths take the same time."""
    return hash_password(secrets.token_urlsafe(16))
