"""What campaign targets bought after they were targeted, and the uplift over the holdout.

Each target counts from its own moment (``targeted_at``): a triggered campaign's targets
arrive over months, so a window from the campaign's start would be wrong for most of them.
Revenue is the money paid (``amount_due``) of the card's receipts in the window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from app.campaigns.models import CampaignTarget
from app.till.models import Receipt

Z95 = 1.96


@dataclass
class TargetResult:
    campaign_id: int
    card_id: int
    holdout: bool
    targeted_at: datetime
    purchases: int = 0
    revenue: int = 0


def target_results(
    session: Session,
    campaign_ids: Sequence[int],
    days: int,
    targeted_from: datetime | None = None,
    until: datetime | None = None,
) -> list[TargetResult]:
    """Every target (not skipped) of these campaigns, only those targeted in
    ``[targeted_from, until)`` when given, with its purchases in
    ``[targeted_at, targeted_at + days)``, cut at ``until``."""
    if not campaign_ids:
        return []
    t = CampaignTarget
    chosen: list[ColumnElement[bool]] = [
        t.campaign_id.in_(campaign_ids),
        t.skipped.is_(None),
        t.targeted_at.is_not(None),
    ]
    bought: list[ColumnElement[bool]] = [
        Receipt.card_id == t.card_id,
        Receipt.created_at >= t.targeted_at,
    ]
    if targeted_from is not None:
        chosen.append(t.targeted_at >= targeted_from)
    if until is not None:
        chosen.append(t.targeted_at < until)
        bought.append(Receipt.created_at < until)
    span = timedelta(days=days)
    out: dict[int, TargetResult] = {}
    # The window's end is compared here: date arithmetic on a column differs per database.
    for target_id, campaign_id, card_id, holdout, at, bought_at, due in session.execute(
        select(
            t.id,
            t.campaign_id,
            t.card_id,
            t.holdout,
            t.targeted_at,
            Receipt.created_at,
            Receipt.amount_due,
        )
        .outerjoin(Receipt, and_(*bought))
        .where(*chosen)
        .order_by(t.id)
    ):
        assert at is not None  # chosen only when set
        result = out.get(target_id)
        if result is None:
            result = out[target_id] = TargetResult(campaign_id, card_id, bool(holdout), at)
        if bought_at is not None and bought_at < at + span:
            result.purchases += 1
            result.revenue += int(due)
    return list(out.values())


@dataclass(frozen=True)
class Arm:
    cards: int
    buyers: int
    purchases: int
    revenue: int

    @property
    def revenue_per_card(self) -> float:
        return self.revenue / self.cards if self.cards else 0.0


@dataclass(frozen=True)
class Comparison:
    targets: Arm
    holdout: Arm
    uplift_per_card: float  # extra revenue per targeted card, minor units
    ci95: tuple[float, float]
    variance: float  # of uplift_per_card (the squared standard error)

    @property
    def measurable(self) -> bool:
        """Both arms have cards: without a holdout nothing can be attributed."""
        return self.targets.cards > 0 and self.holdout.cards > 0

    @property
    def attributed(self) -> float:
        """Revenue the offer brought: the uplift per card times the cards that got it."""
        return self.uplift_per_card * self.targets.cards if self.measurable else 0.0

    @property
    def attributed_variance(self) -> float:
        return self.variance * self.targets.cards**2 if self.measurable else 0.0


def compare(results: Sequence[TargetResult]) -> Comparison:
    """Targets against holdout: the difference of mean revenue per card and its 95 %
    confidence interval (Welch's normal approximation)."""
    sent = [r for r in results if not r.holdout]
    kept = [r for r in results if r.holdout]

    def arm(rows: list[TargetResult]) -> Arm:
        return Arm(
            len(rows),
            sum(1 for r in rows if r.purchases),
            sum(r.purchases for r in rows),
            sum(r.revenue for r in rows),
        )

    def mean_var(rows: list[TargetResult]) -> tuple[float, float]:
        values = [float(r.revenue) for r in rows]
        if len(values) < 2:
            return (values[0] if values else 0.0), 0.0
        mean = sum(values) / len(values)
        return mean, sum((v - mean) ** 2 for v in values) / (len(values) - 1)

    m1, v1 = mean_var(sent)
    m0, v0 = mean_var(kept)
    diff = m1 - m0
    variance = v1 / max(len(sent), 1) + v0 / max(len(kept), 1)
    se = math.sqrt(variance)
    return Comparison(arm(sent), arm(kept), diff, (diff - Z95 * se, diff + Z95 * se), variance)
