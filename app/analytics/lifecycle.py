"""Lifecycle stages of a member, from purchase history (pure rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
