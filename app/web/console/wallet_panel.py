"""The dashboard's cards-by-wallet-app panel: a table of installs, removals and active
cards per app for the period, a weekly installs chart, and the CSV columns.

Wallet apps do not belong to a store, so the store filter does not narrow this panel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from markupsafe import Markup

from app.push.wallet_apps import APPLE_WALLET
from app.services import wallet_stats
from app.services.wallet_events import GOOGLE_WALLET, INSTALL, REMOVAL
from app.web.console.charts import Frame, Series, line_chart
from app.web.console.texts import number, short_date, text_for
from app.web.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.loyalty.models import Program

ORDER = wallet_stats.APP_ORDER
COLOURS = {
    APPLE_WALLET: "#1b1b1f",
    GOOGLE_WALLET: "#2A9D8F",
    "walletpasses": "#E07A5F",
    "passwallet": "#7B61FF",
    "pass2u": "#F4A261",
    "passworks": "#264653",
    "walletunion": "#1F3A5F",
    "walletunion_hms": "#C1121F",
    "passhub": "#229ED9",
    "unknown": "#9aa3af",
}
CSV_COLUMNS = tuple(f"{kind}s_{app}" for app in ORDER for kind in (INSTALL, REMOVAL))
FRAME = Frame(width=960, height=260)

Week = tuple[date, date]
Bounds = Callable[[date, date], tuple[datetime, datetime]]


@dataclass(frozen=True)
class Row:
    wallet_app: str
    label: str
    installs: str
    removals: str
    active: str


@dataclass(frozen=True)
class Panel:
    rows: list[Row]
    chart: Markup


def label(app: str) -> str:
    return text_for(f"seg.wallet.{app}")


def panel(
    session: Session,
    program: Program,
    period: tuple[datetime, datetime],
    weeks: Sequence[Week],
    bounds: Bounds,
) -> Panel:
    rows = [
        Row(
            f.wallet_app,
            label(f.wallet_app),
            number(f.installs),
            number(f.removals),
            number(f.active),
        )
        for f in wallet_stats.figures(session, program.id, period)
    ]
    counts = wallet_stats.event_counts(session, program.id, [bounds(a, b) for a, b in weeks])
    series = [
        Series(label(app), [float(n) for n in counts.get((app, INSTALL), [])], COLOURS[app])
        for app in ORDER
        if any(counts.get((app, INSTALL), ()))
    ]
    svg = line_chart(
        chart_id="chart-wallet-installs",
        frame=FRAME,
        title=_("Installs by wallet app, by week"),
        labels=[short_date(first) for first, _ in weeks],
        series=series,
        y_format=lambda v: number(v),
        empty_text=_("No installs in this period"),
    )
    return Panel(rows, Markup(svg))  # noqa: S704  (our own SVG: every text in it is escaped)


def csv_cells(
    session: Session, program: Program, windows: Sequence[tuple[datetime, datetime]]
) -> list[list[int]]:
    """Per window, the CSV_COLUMNS values."""
    counts = wallet_stats.event_counts(session, program.id, windows)
    return [
        [
            counts.get((app, kind), [0] * len(windows))[i]
            for app in ORDER
            for kind in (INSTALL, REMOVAL)
        ]
        for i in range(len(windows))
    ]
