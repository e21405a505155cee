"""Revenue brought by automated communications over a period: each triggered campaign's
targets chosen in the period, measured from the moment each was targeted against the
campaign's holdout, summed with a 95 % interval.

Sources are pluggable: ``SOURCES`` maps a name to a function giving the comparisons of
that kind of communication (triggered campaigns by trigger here; invites can add theirs,
e.g. ``SOURCES["invite"] = ...``, without touching the sum).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.campaigns.results import Z95, Comparison, compare, target_results
from app.loyalty.models import Program

ATTRIBUTION_DAYS = 30  # a target's purchases count this long after it was targeted
AUTOMATED_TRIGGERS = ("welcome", "birthday", "win_back")

# name -> (session, program, start, end, days) -> one comparison per campaign (or arm pair)
Source = Callable[[Session, Program, datetime, datetime, int], list[Comparison]]


def _trigger_source(trigger: str) -> Source:
    def comparisons(
        session: Session, program: Program, start: datetime, end: datetime, days: int
    ) -> list[Comparison]:
        ids = list(
            session.scalars(
                select(Campaign.id).where(
                    Campaign.program_id == program.id, Campaign.trigger == trigger
                )
            )
        )
        results = target_results(session, ids, days, targeted_from=start, until=end)
        return [compare([r for r in results if r.campaign_id == i]) for i in ids]

    return comparisons


SOURCES: dict[str, Source] = {t: _trigger_source(t) for t in AUTOMATED_TRIGGERS}


@dataclass(frozen=True)
class Attributed:
    source: str
    targets: int  # cards that got the communication (targeted in the period)
    holdout: int
    revenue: float  # attributed, minor units
    ci95: tuple[float, float]
    unmeasured: int  # campaigns with targets but no holdout: nothing attributed


@dataclass(frozen=True)
class AutomatedRevenue:
    days: int
    sources: list[Attributed]
    revenue: float
    ci95: tuple[float, float]


def _sum(source: str, found: list[Comparison]) -> tuple[Attributed, float]:
    revenue = sum(c.attributed for c in found)
    variance = sum(c.attributed_variance for c in found)
    half = Z95 * math.sqrt(variance)
    return (
        Attributed(
            source,
            sum(c.targets.cards for c in found),
            sum(c.holdout.cards for c in found),
            revenue,
            (revenue - half, revenue + half),
            sum(1 for c in found if c.targets.cards and not c.holdout.cards),
        ),
        variance,
    )


def automated_revenue(
    session: Session, program: Program, start: datetime, end: datetime, days: int = ATTRIBUTION_DAYS
) -> AutomatedRevenue:
    """Each source's attributed revenue (targets chosen in [start, end), their purchases
    within ``days`` of being targeted and before ``end``) and the total."""
    rows = [
        _sum(name, source(session, program, start, end, days)) for name, source in SOURCES.items()
    ]
    revenue = sum(a.revenue for a, _ in rows)
    half = Z95 * math.sqrt(sum(v for _, v in rows))
    return AutomatedRevenue(days, [a for a, _ in rows], revenue, (revenue - half, revenue + half))
