"""OAuth2 access tokens for a Google service account (the JWT-bearer grant).

A token request is a JWT signed RS256 with the service account's key (``iss`` the
account's e-mail, ``scope``, ``aud`` the token URL, ``iat``, ``exp`` one hour later,
``kid`` the key id) POSTed as ``grant_type=urn:ietf:params:oauth:grant-type:
jwt-bearer&assertion=<JWT>``. ``AccessTokens`` keeps the answer until 60 s before it
expires and fetches at most one new token at a time, whatever the number of threads.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

WALLET_SCOPE = "https://www.googleapis.com/auth/wallet_object.issuer"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL, not a secret
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600  # Google accepts at most one hour
REFRESH_MARGIN = 60.0  # seconds before expiry at which a cached token is replaced


class ServiceAccountError(ValueError):
    """A service account key file is missing a field or holds no RSA key."""


class TokenError(RuntimeError):
    """The token endpoint refused us or could not be reached.

    ``status`` is the HTTP status (0: no answer); ``retryable`` says whether trying
    again later may help (network trouble, 429, 5xx) or not (a refused key)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"token request failed ({status or 'no answer'}): {message}")
        self.status = status
        self.message = message

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status == 429 or self.status >= 500


@dataclass(frozen=True)
class ServiceAccount:
    client_email: str
    private_key: rsa.RSAPrivateKey = field(repr=False)
    private_key_id: str
    token_uri: str = GOOGLE_TOKEN_URL

    @classmethod
    def from_info(cls, info: Mapping[str, Any]) -> ServiceAccount:
        """From the parsed JSON key file Google Cloud hands out."""
        missing = [k for k in ("client_email", "private_key", "private_key_id") if not info.get(k)]
        if missing:
            raise ServiceAccountError(f"service account key lacks {', '.join(missing)}")
        try:
            key = serialization.load_pem_private_key(
                str(info["private_key"]).encode("ascii"), password=None
            )
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            raise ServiceAccountError(f"unreadable service account private key ({exc})") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ServiceAccountError("the service account private key is not an RSA key")
        return cls(
            client_email=str(info["client_email"]),
            private_key=key,
            private_key_id=str(info["private_key_id"]),
            token_uri=str(info.get("token_uri") or GOOGLE_TOKEN_URL),
        )

    @classmethod
    def from_file(cls, path: Path | str) -> ServiceAccount:
        try:
            info = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ServiceAccountError(f"{path}: unreadable service account key ({exc})") from None
        if not isinstance(info, dict):
            raise ServiceAccountError(f"{path}: a service account key is a JSON object")
        return cls.from_info(info)

    def sign(self, claims: Mapping[str, Any]) -> str:
        """An RS256 JWT of ``claims`` with this account's key id in the header."""
        return jwt.encode(
            dict(claims), self.private_key, algorithm="RS256", headers={"kid": self.private_key_id}
        )

    def public_key(self) -> rsa.RSAPublicKey:
        return self.private_key.public_key()


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float


class AccessTokens:
    """Cached access tokens of one service account for one scope (thread-safe)."""

    def __init__(
        self,
        account: ServiceAccount,
        token_url: str | None = None,
        scope: str = WALLET_SCOPE,
        clock: Callable[[], float] = time.time,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.account = account
        self.token_url = token_url or account.token_uri
        if urllib.parse.urlsplit(self.token_url).scheme not in ("http", "https"):
            raise ValueError(f"token URL {self.token_url!r} is not http(s)")
        self.scope = scope
        self.clock = clock
        self.timeout = timeout
        self.fetches = 0  # how many tokens were requested (for tests and metrics)
        self._token: _Token | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        """A valid access token, fetched only when the cached one is near expiry."""
        with self._lock:
            token = self._token
            if token is None or self.clock() >= token.expires_at - REFRESH_MARGIN:
                token = self._token = self._fetch()
            return token.value

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (after a 401). With ``token``, only if it is still
        the cached one, so threads that all saw the same 401 cause one fetch."""
        with self._lock:
            if self._token is not None and (token is None or self._token.value == token):
                self._token = None

    def assertion(self) -> str:
        """The signed JWT-bearer assertion. Its times come from the wall clock, which
        Google checks them against; ``clock`` only decides when to fetch a token."""
        now = int(time.time())
        return self.account.sign(
            {
                "iss": self.account.client_email,
                "scope": self.scope,
                "aud": self.token_url,
                "iat": now,
                "exp": now + ASSERTION_LIFETIME,
            }
        )

    def _fetch(self) -> _Token:
        form = urllib.parse.urlencode({"grant_type": JWT_BEARER, "assertion": self.assertion()})
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            self.token_url,
            data=form.encode("ascii"),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        self.fetches += 1
        started = self.clock()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            with exc:
                raise TokenError(exc.code, _oauth_error(exc.read())) from None
        except (OSError, ValueError) as exc:  # URLError, timeouts, resets
            raise TokenError(0, str(exc)) from None
        try:
            answer = json.loads(raw)
            value = str(answer["access_token"])
            lifetime = float(answer.get("expires_in", ASSERTION_LIFETIME))
        except (ValueError, KeyError, TypeError):
            raise TokenError(status, "the token endpoint answered no access_token") from None
        return _Token(value, started + lifetime)


def _oauth_error(raw: bytes) -> str:
    """``error: error_description`` of an OAuth2 error body, else its text."""
    try:
        body = json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")[:300]
    if isinstance(body, dict) and "error" in body:
        error = body["error"]
        if isinstance(error, dict):  # Google's API error shape
            return str(error.get("message") or error.get("status") or error)
        description = body.get("error_description")
        return f"{error}: {description}" if description else str(error)
    return str(body)[:300]
