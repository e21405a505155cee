"""Lifecycle stages of a member, from purchase history (pure rules)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

STAGES = ("newcomer", "active", "at_risk", "lost")


@dataclass(frozen=True)
class Thresholds:
    newcomer_days: int = 60  # a new member with fewer than two purchases is a newcomer this long
    at_risk_after_days: int = 90  # no purchase for this long: at risk
    lost_after_days: int = 180  # no purchase for this long: lost

    def __post_init__(self) -> None:
        if not (self.newcomer_days > 0 and 0 < self.at_risk_after_days < self.lost_after_days):
            raise ValueError("thresholds must satisfy 0 < at_risk_after < lost_after, newcomer > 0")


def stage(
    enrolled_at: datetime,
    purchases: int,
    last_purchase_at: datetime | None,
    now: datetime,
    thresholds: Thresholds,
) -> str:
    """newcomer: getting to know the brand (enrolled recently, under two purchases);
    active: bought recently; at_risk: ready to say goodbye; lost: gone quiet for long.
    Silence is counted from the last purchase, or from enrollment when there is none."""
    member_days = (now - enrolled_at).days
    if purchases < 2 and member_days <= thresholds.newcomer_days:
        return "newcomer"
    quiet_days = (now - (last_purchase_at or enrolled_at)).days
    if quiet_days <= thresholds.at_risk_after_days:
        return "active"
    if quiet_days <= thresholds.lost_after_days:
        return "at_risk"
    return "lost"


class StageCounter:
    """How many members are in each stage at each of some instants, fed one member's
    history at a time: the same answer as ``stage()`` per member and instant, without
    a pass over the history per instant.

    Between two purchases a member's stage depends only on the time since the last
    one (or since enrolling), so each stretch adds to a run of instants."""

    def __init__(self, thresholds: Thresholds, instants: Sequence[datetime]) -> None:
        self._instants = sorted(instants)
        self._newcomer = timedelta(days=thresholds.newcomer_days + 1)
        self._at_risk = timedelta(days=thresholds.at_risk_after_days + 1)
        self._lost = timedelta(days=thresholds.lost_after_days + 1)
        # Difference arrays: +1 at the first instant of a run, -1 after its last.
        self._diff = {name: [0] * (len(self._instants) + 1) for name in STAGES}

    def _run(self, name: str, first: int, end: int, members: int) -> None:
        if first < end:
            self._diff[name][first] += members
            self._diff[name][end] -= members

    def add(self, enrolled_at: datetime, purchases: Sequence[datetime]) -> None:
        """One member: when they enrolled and their purchase times in order."""
        at = self._instants
        young_until = bisect_left(at, enrolled_at + self._newcomer)
        lasts = [enrolled_at, *purchases]
        for n, last in enumerate(lasts):
            # Instants T with exactly n purchases before T and the member enrolled:
            # max(last, enrolled) < T <= next purchase.
            first = bisect_right(at, max(last, enrolled_at))
            end = bisect_right(at, lasts[n + 1]) if n + 1 < len(lasts) else len(at)
            risk_from = bisect_left(at, last + self._at_risk)
            lost_from = bisect_left(at, last + self._lost)
            self.add_stretch(n < 2, first, end, young_until, risk_from, lost_from)

    def add_stretch(
        self,
        young: bool,
        first: int,
        end: int,
        young_until: int,
        risk_from: int,
        lost_from: int,
        members: int = 1,
    ) -> None:
        """``members`` members at the instants [first, end) (indexes) since their last
        purchase (or enrolment), which puts them at risk from ``risk_from`` and lost
        from ``lost_from``; ``young`` when they had bought less than twice, so newcomers
        until ``young_until``."""
        if first >= end:
            return
        settled = first
        if young:
            self._run("newcomer", first, min(end, young_until), members)
            settled = max(first, young_until)
        self._run("active", settled, min(end, risk_from), members)
        self._run("at_risk", max(settled, risk_from), min(end, lost_from), members)
        self._run("lost", max(settled, lost_from), end, members)

    def totals(self) -> list[dict[str, int]]:
        """Stage -> members, for each instant in time order."""
        out: list[dict[str, int]] = []
        running = dict.fromkeys(STAGES, 0)
        for i in range(len(self._instants)):
            for name in STAGES:
                running[name] += self._diff[name][i]
            out.append(dict(running))
        return out
