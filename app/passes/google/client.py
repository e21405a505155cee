"""A small REST client of the Google Wallet API (loyalty classes and objects).

Plain ``http.client`` over kept-alive connections (a pool, so threads can share one
client), paced by a token bucket (about 20 requests/s per issuer is Google's limit).
429, 5xx and network errors are retried with exponential backoff and jitter (a
``Retry-After`` is honoured); a 401 drops the cached access token and retries once.
Any other error raises ``GoogleWalletError`` with Google's error body parsed; a
``403 quotaExceeded`` from ``addMessage`` (three notifications per pass per 24 h)
raises ``NotificationQuotaError`` and is never retried.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from app.passes.google.auth import AccessTokens, TokenError

RETRYABLE = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF = 30.0
NOTIFY_ON_UPDATE = "NOTIFY_ON_UPDATE"


class GoogleWalletError(Exception):
    """Google refused a request. ``status`` is the HTTP status (0: no answer),
    ``reason`` the first ``errors[].reason`` (else ``error.status``), ``message``
    Google's text. Two reasons are ours: ``connectionError`` (status 0: Google could
    not be reached) and ``tokenError`` (status of the token endpoint's answer)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"Google Wallet {status or 'unreachable'} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later (after the retries ran out)."""
        return self.status == 0 or self.status in RETRYABLE


class NotificationQuotaError(GoogleWalletError):
    """addMessage with TEXT_AND_NOTIFY beyond the pass's notifications for 24 h."""


def parse_error(status: int, raw: bytes) -> GoogleWalletError:
    """A GoogleWalletError from ``{"error": {"code", "message", "status", "errors"}}``."""
    reason, message = "", raw.decode("utf-8", "replace")[:500]
    try:
        error = json.loads(raw)["error"]
        message = str(error.get("message", message))
        errors = error.get("errors") or []
        reason = str((errors[0].get("reason") if errors else None) or error.get("status") or "")
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        pass
    return GoogleWalletError(status, reason or http.client.responses.get(status, ""), message)


class RateLimiter:
    """A token bucket of ``burst`` tokens refilled at ``rate`` per second (thread-safe).
    Callers reserve their slot under the lock and sleep outside it, in arrival order."""

    def __init__(
        self,
        rate: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("the rate must be positive and the burst at least 1")
        self.interval = 1.0 / rate
        self.burst = burst
        self.clock = clock
        self.sleep = sleep
        self._next_free = 0.0  # when the bucket is full again (GCRA's theoretical time)
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self.clock()
            at = max(now, self._next_free - (self.burst - 1) * self.interval)
            self._next_free = max(self._next_free, at) + self.interval
        if at > now:
            self.sleep(at - now)


class GoogleWalletClient:
    def __init__(
        self,
        api_url: str,
        tokens: AccessTokens,
        *,
        rate_per_second: float = 20.0,
        max_attempts: int = 5,
        timeout: float = 10.0,
        backoff_base: float = 0.2,
    ) -> None:
        """``api_url``: ``https://walletobjects.googleapis.com/walletobjects/v1``."""
        parts = urllib.parse.urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"API URL {api_url!r} is not an http(s) URL")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._base = parts.path.rstrip("/")
        self.tokens = tokens
        self.limiter = RateLimiter(rate_per_second)
        self.max_attempts = max(1, max_attempts)
        self.timeout = timeout
        self.backoff_base = backoff_base
        self._idle: list[http.client.HTTPConnection] = []
        self._pool_lock = threading.Lock()

    # -- resources ------------------------------------------------------------------

    def insert_class(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/loyaltyClass", body)

    def get_class(self, class_id: str) -> dict[str, Any]:
        return self._call("GET", f"/loyaltyClass/{_quote(class_id)}")

    def patch_class(self, class_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("PATCH", f"/loyaltyClass/{_quote(class_id)}", body)

    def insert_object(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._call("POST", "/loyaltyObject", body)

    def get_object(self, object_id: str) -> dict[str, Any]:
        return self._call("GET", f"/loyaltyObject/{_quote(object_id)}")

    def patch_object(
        self, object_id: str, body: dict[str, Any], *, notify: bool = False
    ) -> dict[str, Any]:
        """PATCH: sent fields change, arrays are replaced whole. ``notify`` adds the
        object's top-level ``notifyPreference: NOTIFY_ON_UPDATE`` (ephemeral, per
        request): holders get a notice if an allow-listed field (the balance) changed."""
        if notify:
            body = {**body, "notifyPreference": NOTIFY_ON_UPDATE}
        return self._call("PATCH", f"/loyaltyObject/{_quote(object_id)}", body)

    def add_message(self, object_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """Adds a message to the object; answers ``{"resource": <LoyaltyObject>}``."""
        path = f"/loyaltyObject/{_quote(object_id)}/addMessage"
        try:
            return self._call("POST", path, {"message": message})
        except GoogleWalletError as exc:
            if exc.status == 403 and exc.reason == "quotaExceeded":
                raise NotificationQuotaError(exc.status, exc.reason, exc.message) from None
            raise

    def upsert_object(self, body: dict[str, Any], *, notify: bool = False) -> dict[str, Any]:
        """Insert, or PATCH the whole body when the object already exists (409)."""
        try:
            return self.insert_object(body)
        except GoogleWalletError as exc:
            if exc.status != 409:
                raise
        return self.patch_object(str(body["id"]), body, notify=notify)

    def close(self) -> None:
        with self._pool_lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __enter__(self) -> GoogleWalletClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ------------------------------------------------------------------

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                token = self.tokens.get()
            except TokenError as exc:
                if not exc.retryable or attempt >= self.max_attempts:
                    raise GoogleWalletError(exc.status, "tokenError", exc.message) from exc
                self._backoff(attempt, None)
                continue
            status, headers, raw = self._send(method, self._base + path, payload, token)
            if 200 <= status < 300:
                return _json_object(raw)
            if status == 0:
                error = GoogleWalletError(0, "connectionError", raw.decode("utf-8", "replace"))
            else:
                error = parse_error(status, raw)
            if status == 401 and not refreshed:
                refreshed = True
                self.tokens.invalidate(token)
                attempt -= 1  # a stale token is not the server's fault
                continue
            if (status in RETRYABLE or status == 0) and attempt < self.max_attempts:
                self._backoff(attempt, _retry_after(headers.get("retry-after")))
                continue
            raise error

    def _backoff(self, attempt: int, retry_after: float | None) -> None:
        delay = self.backoff_base * 2 ** (attempt - 1)
        delay *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
        if retry_after is not None:
            delay = max(delay, retry_after)
        time.sleep(min(delay, MAX_BACKOFF))

    def _send(
        self, method: str, path: str, payload: bytes | None, token: str
    ) -> tuple[int, dict[str, str], bytes]:
        """One paced HTTP exchange. Status 0 means no answer (network error); a reused
        kept-alive connection the server had closed is retried once on a fresh one."""
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": "walletpass",
        }
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        self.limiter.acquire()
        for fresh_retry in (False, True):
            conn, reused = self._connection(fresh=fresh_retry)
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if reused and not fresh_retry:
                    continue
                return 0, {}, str(exc).encode()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                return 0, {}, str(exc).encode()
            answer = {k.lower(): v for k, v in response.getheaders()}
            if response.will_close:
                conn.close()
            else:
                with self._pool_lock:
                    self._idle.append(conn)
            return response.status, answer, raw
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, *, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        with self._pool_lock:
            if self._idle and not fresh:
                return self._idle.pop(), True
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self.timeout), False
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout), False


def _quote(resource_id: str) -> str:
    return urllib.parse.quote(resource_id, safe="")


def _json_object(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise GoogleWalletError(200, "badResponse", "the answer is not JSON") from None
    if not isinstance(data, dict):
        raise GoogleWalletError(200, "badResponse", "the answer is not a JSON object")
    return data


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
