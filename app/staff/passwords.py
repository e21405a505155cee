"""Password hashing with scrypt (memory-hard), in a self-describing format, and the
password rule: long enough and not one of the passwords everyone tries first."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from importlib import resources

# 2**15 x 8 x 1 takes ~50 ms and 32 MiB: slow for guessing, fine for logging in.
N, R, P = 2**15, 8, 1
MIN_LENGTH = 10
# Common passwords shipped with the code (no network): see common_passwords.txt.
_COMMON_FILE = "common_passwords.txt"
# What people add to a common word to pass a length rule: digits, punctuation, a year.
_DECORATION = re.compile(r"^[^a-zа-яё]*(.*?)[^a-zа-яё]*$")


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


@functools.cache
def common_passwords() -> frozenset[str]:
    text = resources.files("app.staff").joinpath(_COMMON_FILE).read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def is_common(password: str) -> bool:
    """True for a well-known password, also when dressed up with digits or symbols
    around it ("Password2024!") or repeated ("qwertyqwerty")."""
    common = common_passwords()
    lowered = password.strip().lower()
    if lowered in common:
        return True
    core = _DECORATION.sub(r"\1", lowered)
    if core in common and len(core) >= 4:
        return True
    for size in range(1, len(lowered) // 2 + 1):
        if len(lowered) % size == 0 and lowered[:size] * (len(lowered) // size) == lowered:
            return lowered[:size] in common or size <= 3
    return False


def password_problem(password: str, email: str = "") -> str | None:
    """What is wrong with a new password, or None: at least ten characters and not a
    common password (the e-mail is not held against it: any password sharing a letter
    with it used to be refused)."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters long"
    if len(password) > 200:
        return "must be at most 200 characters long"
    if is_common(password) or password.strip().lower() == email.strip().lower():
        return "is one of the most common passwords; choose another"
    return None


@functools.cache
def dummy_hash() -> str:
    """Verified against when the e-mail is unknown, so both paths take the same time."""
    return hash_password(secrets.token_urlsafe(16))
