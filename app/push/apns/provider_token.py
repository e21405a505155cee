"""APNs provider tokens: ES256 JWTs signed with a .p8 key (token-based authentication).

Apple wants one token per team, reused for 20–60 minutes: a fresh token on every
request is answered with 429 TooManyProviderTokenUpdates.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

DEFAULT_LIFETIME = 40 * 60.0


class ProviderTokenError(ValueError):
    """The .p8 key is missing, unreadable or not a P-256 key."""


def load_p8_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProviderTokenError(f"{path}: cannot read the APNs key ({exc.strerror})") from None
    try:
        key = serialization.load_pem_private_key(data, None)
    except (ValueError, TypeError):
        raise ProviderTokenError(f"{path}: not an unencrypted PEM (.p8) private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ProviderTokenError(f"{path}: an APNs auth key must be an EC P-256 key")
    return key


class ProviderToken:
    """The current JWT for one team, re-signed every ``lifetime`` seconds or when APNs
    calls it expired."""

    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey,
        key_id: str,
        team_id: str,
        *,
        lifetime: float = DEFAULT_LIFETIME,
        clock: Callable[[], float] = time.time,  # APNs checks "iat" against its own clock
    ) -> None:
        if not key_id or not team_id:
            raise ProviderTokenError("token authentication needs a key id and a team id")
        self._key, self._key_id, self._team_id = key, key_id, team_id
        self._lifetime, self._clock = lifetime, clock
        self._lock = threading.Lock()
        self._token = ""
        self._issued_at = 0.0

    @classmethod
    def from_file(
        cls, path: Path, key_id: str, team_id: str, *, lifetime: float = DEFAULT_LIFETIME
    ) -> ProviderToken:
        return cls(load_p8_key(path), key_id, team_id, lifetime=lifetime)

    @property
    def issued_at(self) -> float:
        return self._issued_at

    def _sign(self, now: float) -> str:
        self._issued_at = now
        self._token = jwt.encode(
            {"iss": self._team_id, "iat": int(now)},
            self._key,
            algorithm="ES256",
            headers={"kid": self._key_id},
        )
        return self._token

    def current(self) -> str:
        with self._lock:
            now = self._clock()
            if not self._token or now - self._issued_at >= self._lifetime:
                return self._sign(now)
            return self._token

    def refresh(self, stale: str) -> str:
        """A new token after APNs answered ExpiredProviderToken for ``stale``; requests that
        failed with an older token than the current one reuse the current one."""
        with self._lock:
            if stale == self._token:
                return self._sign(self._clock())
            return self._token
