"""Keyed hashes of phone numbers: what we keep of a number after its member is erased.

The hash is HMAC-SHA256 under a key derived from ``WALLETPASS_SECRET_KEY`` (its own
purpose string, so it never equals another use of the secret). Without the key the
hash cannot be reversed by trying every number of a country (there are only about 10^10):
whoever holds a database dump alone learns nothing. Bootstrap puts the key in every
session's ``info``, so services that take a session can compute it.
"""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy.orm import Session

INFO_KEY = "walletpass.phone_key"


def derive(secret_key: str) -> bytes:
    return hashlib.sha256(b"walletpass phone hash v1\0" + secret_key.encode()).digest()


def session_info(secret_key: str) -> dict[str, bytes]:
    """The ``info`` of every session: pass it to the sessionmaker."""
    return {INFO_KEY: derive(secret_key)}


def phone_hash(session: Session, phone: str) -> str:
    """The keyed hash (hex) of a normalised (E.164) phone number."""
    key = session.info.get(INFO_KEY)
    if not isinstance(key, bytes):
        raise RuntimeError("the session has no phone key (build sessions with session_info)")
    return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()
