"""Sliding-window arithmetic, shared by the stores.

A limit of ``count`` per ``per`` seconds keeps one counter per fixed window; the
previous window's hits are weighted by how much of it still overlaps the sliding
window ending now (the "sliding window counter" approximation). Memory per key is
two integers, and the burst at a window edge that a plain fixed window allows is gone.
"""

from __future__ import annotations

import math

from app.settings import RateLimit


def window(now: float, per: int) -> tuple[int, float]:
    """The start (epoch seconds) of the fixed window holding ``now``, and the time into it."""
    start = int(now // per) * per
    return start, now - start


def previous_weight(per: int, elapsed: float) -> float:
    return (per - elapsed) / per


def capacity(limit: RateLimit, previous: int, elapsed: float) -> int:
    """How many hits the current window may hold now (a hit is allowed below it)."""
    return limit.count - math.floor(previous * previous_weight(limit.per_seconds, elapsed))


def expires_at(start: int, per: int) -> int:
    """When a window's counter stops mattering: the end of the window after it."""
    return start + 2 * per


def retry_after(limit: RateLimit, previous: int, current: int, elapsed: float) -> int:
    """Whole seconds (at least 1) until a refused client would be allowed again,
    if nobody else hits the same key meanwhile."""
    per, count = limit.per_seconds, limit.count
    room = count - current
    if room > 0 and previous > 0:
        # floor(previous * (per - t) / per) < room  <=>  t > per * (1 - room / previous)
        needed = per * (1 - room / previous)
        if needed < per:
            return max(1, math.ceil(needed - elapsed + 1e-9))
    # Next window: this window's hits become the weighted previous ones.
    needed = per * (1 - count / current) if current > count else 0.0
    return max(1, math.ceil(per - elapsed + needed + 1e-9))
