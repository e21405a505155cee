"""Stage counts over many instants at once agree with ``stage()`` member by member."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.analytics.lifecycle import STAGES, StageCounter, Thresholds, stage

ORIGIN = datetime(2025, 1, 1, tzinfo=UTC)
# Offsets in hours: whole days, half days and the exact day edges the rules turn on.
offsets = st.integers(min_value=0, max_value=24 * 400)


@st.composite
def members(draw: st.DrawFn) -> tuple[datetime, list[datetime]]:
    enrolled = ORIGIN + timedelta(hours=draw(offsets))
    # Purchases may even predate enrolment (imported histories) or share its instant.
    times = draw(st.lists(st.integers(-24 * 30, 24 * 300), max_size=6))
    return enrolled, sorted(enrolled + timedelta(hours=h) for h in times)


@given(
    population=st.lists(members(), max_size=12),
    instants=st.lists(offsets, min_size=1, max_size=10, unique=True),
    newcomer=st.integers(1, 120),
    at_risk=st.integers(1, 120),
    gap=st.integers(1, 120),
)
@settings(max_examples=300, deadline=None)
def test_counts_match_the_rule_applied_to_each_member_at_each_instant(
    population: list[tuple[datetime, list[datetime]]],
    instants: list[int],
    newcomer: int,
    at_risk: int,
    gap: int,
) -> None:
    limits = Thresholds(newcomer, at_risk, at_risk + gap)
    moments = sorted(ORIGIN + timedelta(hours=h) for h in instants)
    counter = StageCounter(limits, moments)
    for enrolled, purchases in population:
        counter.add(enrolled, purchases)
    for now, totals in zip(moments, counter.totals(), strict=True):
        expected = dict.fromkeys(STAGES, 0)
        for enrolled, purchases in population:
            if enrolled >= now:
                continue  # not a member yet
            before = [p for p in purchases if p < now]
            expected[stage(enrolled, len(before), max(before, default=None), now, limits)] += 1
        assert totals == expected, now


def test_a_member_moves_through_the_stages_week_by_week() -> None:
    limits = Thresholds(newcomer_days=14, at_risk_after_days=21, lost_after_days=42)
    weeks = [ORIGIN + timedelta(days=7 * i) for i in range(1, 10)]
    counter = StageCounter(limits, weeks)
    counter.add(ORIGIN, [ORIGIN + timedelta(days=1), ORIGIN + timedelta(days=2)])
    seen = [next(name for name, n in totals.items() if n) for totals in counter.totals()]
    assert seen == ["active"] * 3 + ["at_risk"] * 3 + ["lost"] * 3
