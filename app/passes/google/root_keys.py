"""Fetching Google's callback root signing keys, with how long they may be kept.

Google publishes them at https://pay.google.com/gp/m/issuer/keys and says how long a
copy stays good in the response's ``Cache-Control: max-age``. The worker fetches them
by that lifetime and stores them; web processes only read the stored copy.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from app.passes.google.callbacks import CallbackError, load_root_keys

MAX_BYTES = 1 << 20  # the real document is about a kilobyte
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)


class RootKeysError(Exception):
    """The keys could not be fetched, or the answer is not a usable key list."""


@dataclass(frozen=True)
class FetchedKeys:
    body: str
    max_age: int | None  # seconds, from Cache-Control; None when not said


def max_age(cache_control: str | None) -> int | None:
    """The ``max-age`` of a Cache-Control header; None without one (or with no-store,
    no-cache: then the copy must be checked again soon)."""
    if not cache_control:
        return None
    lowered = cache_control.lower()
    if "no-store" in lowered or "no-cache" in lowered:
        return 0
    found = _MAX_AGE.search(cache_control)
    return int(found.group(1)) if found else None


def fetch(url: str, now: datetime, timeout: float = 10.0) -> FetchedKeys:
    """GET the key list; raises RootKeysError unless it holds an ECv2SigningOnly key
    usable at ``now``."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - settings allow https (or loopback http)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
            raw = response.read(MAX_BYTES + 1)
            cache_control = response.headers.get("Cache-Control")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RootKeysError(f"fetching {url} failed: {exc}") from None
    if len(raw) > MAX_BYTES:
        raise RootKeysError(f"{url} answered more than {MAX_BYTES} bytes")
    try:
        body = raw.decode("utf-8")
        keys = load_root_keys(body, now_ms=int(now.timestamp() * 1000))
    except (UnicodeDecodeError, CallbackError) as exc:
        raise RootKeysError(f"{url} did not answer a key list: {exc}") from None
    if not keys:
        raise RootKeysError(f"{url} lists no unexpired ECv2SigningOnly key")
    return FetchedKeys(body, max_age(cache_control))
