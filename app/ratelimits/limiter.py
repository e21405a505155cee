"""The rate limiter the web layer asks: one call per request and limit."""

from __future__ import annotations

import hashlib
import hmac
import logging

from app.clock import Clock
from app.ratelimits import rules
from app.ratelimits.stores import LimitStore
from app.settings import RateLimit

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(
        self,
        store: LimitStore,
        clock: Clock,
        secret: str,
        *,
        fail_open: tuple[type[Exception], ...] = (),
    ) -> None:
        self.store = store
        self._clock = clock
        self._secret = hashlib.sha256(b"walletpass rate limits\0" + secret.encode()).digest()
        self._fail_open = fail_open

    def key(self, bucket: str, subject: str) -> str:
        """The stored key: the bucket in clear, the subject (address, phone, e-mail)
        only as a keyed hash, so the counters hold no personal data and a phone
        number cannot be found again by hashing every possible one."""
        digest = hmac.new(self._secret, subject.encode(), hashlib.sha256).hexdigest()[:40]
        return f"{bucket}:{digest}"

    def hit(self, bucket: str, subject: str, limit: RateLimit) -> int | None:
        """Count a hit; None when allowed, else the seconds until one would be."""
        now = self._clock.now().timestamp()
        try:
            verdict = self.store.take(self.key(bucket, subject), limit, now)
        except self._fail_open as exc:
            # A shared store that is down must not take the site down with it.
            log.warning("rate limit store unavailable, %s allowed: %s", bucket, type(exc).__name__)
            return None
        if verdict.allowed:
            return None
        _, elapsed = rules.window(now, limit.per_seconds)
        return rules.retry_after(limit, verdict.previous, verdict.current, elapsed)

    def purge(self) -> int:
        return self.store.purge(self._clock.now().timestamp())
