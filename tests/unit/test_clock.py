"""The test clock: moved only by set() and advance()."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.clock import FixedClock

START = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def test_the_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(START)
    assert clock.now() == clock.now() == START
    clock.advance(timedelta(days=1), hours=2)
    assert clock.now() == datetime(2026, 3, 15, 11, 30, tzinfo=UTC)
    clock.advance(minutes=-30)
    assert clock.now() == datetime(2026, 3, 15, 11, 0, tzinfo=UTC)
    clock.set(START)
    assert clock.now() == START


def test_the_fixed_clock_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2026, 3, 14, 9, 30))
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(START).set(datetime(2026, 3, 14, 9, 30))
