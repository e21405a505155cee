"""Google's callback root keys as stored by the worker and read by web processes.

The worker refreshes the copy when its lifetime (the keys response's Cache-Control
max-age) has run out; no CLI command or web start fetches them. A copy past its
lifetime is still used for verifying (the keys carry their own expiry) while the
worker keeps trying to refresh it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import Clock
from app.passes.google.callbacks import RootKey, load_root_keys
from app.passes.models import GoogleRootKeys

DEFAULT_LIFETIME = timedelta(hours=1)  # the response said nothing
SHORTEST_LIFETIME = timedelta(minutes=1)  # no-cache or max-age=0: not every request
LONGEST_LIFETIME = timedelta(days=7)


def lifetime(max_age: int | None) -> timedelta:
    if max_age is None:
        return DEFAULT_LIFETIME
    return min(max(timedelta(seconds=max_age), SHORTEST_LIFETIME), LONGEST_LIFETIME)


def stored(session: Session, url: str) -> GoogleRootKeys | None:
    return session.scalar(select(GoogleRootKeys).where(GoogleRootKeys.source_url == url))


def refresh_due(session: Session, url: str, now: datetime) -> bool:
    row = stored(session, url)
    return row is None or row.expires_at <= now


def store(session: Session, clock: Clock, url: str, body: str, max_age: int | None) -> datetime:
    """Keep a fetched copy; returns until when it is good."""
    now = clock.now()
    expires_at = now + lifetime(max_age)
    row = stored(session, url)
    if row is None:
        session.add(
            GoogleRootKeys(source_url=url, body=body, fetched_at=now, expires_at=expires_at)
        )
    else:
        row.body, row.fetched_at, row.expires_at = body, now, expires_at
    session.flush()
    return expires_at


def root_keys(session: Session, url: str) -> list[RootKey] | None:
    """The stored keys for verifying callbacks; None when the worker has stored none yet."""
    row = stored(session, url)
    return None if row is None else list(_parsed(row.body))


@lru_cache(maxsize=4)
def _parsed(body: str) -> tuple[RootKey, ...]:
    # Parsed once per copy. Keys that expire later are still dropped by the verifier,
    # which checks each key's expiry at the time of the callback.
    return tuple(load_root_keys(body, now_ms=None))
