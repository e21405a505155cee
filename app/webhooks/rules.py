"""Pure rules of webhooks: event names, the signature, the retry schedule."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

EVENTS = (
    "member.enrolled",
    "card.installed",
    "card.removed",
    "purchase.recorded",
    "refund.recorded",
    "points.expired",
    "campaign.sent",
)
SIGNATURE_HEADER = "Walletpass-Signature"
RETRY_FOR = timedelta(hours=24)  # automatic retries stop a day after the event
DISABLE_AFTER = timedelta(hours=24)  # an endpoint failing this long is turned off
FIRST_RETRY = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=1)
LEASE = timedelta(minutes=2)  # a claimed delivery is not claimed again meanwhile
TIMEOUT_SECONDS = 10.0
EXCERPT_CHARS = 200
LOG_SIZE = 50  # deliveries shown per endpoint
KEEP_FOR = timedelta(days=30)  # finished deliveries are deleted after this


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value: HMAC-SHA256 over ``<timestamp>.<body>`` with the secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def next_attempt(now: datetime, attempts: int, retry_until: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed tries: 30 s doubling up to an hour,
    the last try at ``retry_until``; None once that has passed."""
    if now >= retry_until:
        return None
    delay: timedelta = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), MAX_BACKOFF)
    later: datetime = min(now + delay, retry_until)
    return later


def excerpt(body: bytes) -> str | None:
    """The start of a receiver's answer, on one line (nothing more is stored)."""
    text = " ".join(body.decode("utf-8", "replace").split())
    return text[:EXCERPT_CHARS] or None


def parse_events(raw: object) -> tuple[list[str], str | None]:
    """Event types from a list or a comma-separated text; an error message or None."""
    if isinstance(raw, str):
        items = [p.strip() for p in raw.split(",") if p.strip()]
    elif isinstance(raw, list) and all(isinstance(p, str) for p in raw):
        items = [p.strip() for p in raw]
    else:
        return [], "must be a list of event types"
    unknown = sorted(set(items) - set(EVENTS))
    if unknown:
        return [], f"unknown event types: {', '.join(unknown)} (known: {', '.join(EVENTS)})"
    if not items:
        return [], "choose at least one event type"
    return [e for e in EVENTS if e in items], None


# session.info key: ids of deliveries written in the transaction, enqueued after commit.
NEW_DELIVERIES = "walletpass.webhook_deliveries"
