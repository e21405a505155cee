"""The figures the seed cases report, together: loyal buyers, repeat purchases, card
adoption and revenue from automated communications, for a program and a period."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.analytics.buyers import BuyerKpis, buyer_kpis
from app.loyalty.models import Program
from app.services.automated_revenue import AutomatedRevenue, automated_revenue
from app.services.wallet_stats import Adoption, adoption


@dataclass(frozen=True)
class SeedKpis:
    loyal_min_purchases: int  # the program's rule for a loyal buyer
    loyal_window_days: int
    buyers: BuyerKpis
    adoption: Adoption  # now, whatever the period
    automated: AutomatedRevenue

    def as_json(self) -> dict[str, Any]:
        """The staff API's shape (amounts in minor units)."""
        return {
            **asdict(self.buyers),
            "loyal_rule": {
                "min_purchases": self.loyal_min_purchases,
                "window_days": self.loyal_window_days,
            },
            "card_adoption": {
                "members": self.adoption.members,
                "installed": self.adoption.installed,
                "share": self.adoption.share,
                "by_wallet_app": {
                    app: {"cards": n, "share": share}
                    for app, (n, share) in self.adoption.by_app.items()
                },
            },
            "automated_revenue": {
                "attribution_days": self.automated.days,
                "revenue": self.automated.revenue,
                "ci95": list(self.automated.ci95),
                "by_source": {
                    a.source: {
                        "targets": a.targets,
                        "holdout": a.holdout,
                        "revenue": a.revenue,
                        "ci95": list(a.ci95),
                        "campaigns_without_holdout": a.unmeasured,
                    }
                    for a in self.automated.sources
                },
            },
        }


def seed_kpis(session: Session, program: Program, start: datetime, end: datetime) -> SeedKpis:
    return SeedKpis(
        program.loyal_min_purchases,
        program.loyal_window_days,
        buyer_kpis(session, program, start, end),
        adoption(session, program.id),
        automated_revenue(session, program, start, end),
    )
