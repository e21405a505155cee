"""Injectable time: code asks a Clock, tests pass a fixed or stepping one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (forwards or back)."""
        self._now = _aware(moment)

    def advance(self, delta: timedelta | None = None, /, **parts: float) -> None:
        """Move on by ``delta`` or by ``timedelta(**parts)``: ``advance(minutes=5)``."""
        self._now += (delta or timedelta()) + timedelta(**parts)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("FixedClock needs a timezone-aware datetime")
    return moment
