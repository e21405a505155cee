"""The dashboard's loyalty panel: loyal buyers (with the change and their share of
revenue), the repeat-purchase share, card adoption by wallet app and the revenue of
automated communications with its 95 % interval; two weekly charts and the CSV columns.

These figures are the whole program's: the store filter does not narrow them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from app.analytics.buyers import BuyerKpis, buyer_kpis
from app.services.automated_revenue import automated_revenue
from app.services.seed_kpis import SeedKpis, seed_kpis
from app.web.console.charts import Frame, Series, line_chart
from app.web.console.texts import BY_KEY, money, number, percent, short_date, text_for
from app.web.i18n import _

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from app.loyalty.models import Program

FRAME = Frame(width=480, height=250, left=60)
CSV_COLUMNS = (
    "loyal_buyers",
    "loyal_revenue_share",
    "repeat_purchase_share",
    "automated_revenue",
    "automated_revenue_low",
    "automated_revenue_high",
)
Week = tuple[date, date]
Bounds = Callable[[date, date], tuple[datetime, datetime]]


@dataclass(frozen=True)
class Panel:
    cells: list[tuple[str, str, str]]  # (field, label, value as read)
    charts: list[tuple[str, Markup]]
    adoption: list[tuple[str, int, str]]  # (wallet app, cards, share of members)
    automated: list[tuple[str, int, int, str, str]]  # source, targets, holdout, revenue, ci
    figures: SeedKpis


def _source(name: str) -> str:
    return text_for(f"trigger.{name}") if f"trigger.{name}" in BY_KEY else name


def _signed(value: float | None) -> str:
    return "—" if value is None else ("+" if value > 0 else "") + percent(value)


def _interval(low: float, high: float, currency: str) -> str:
    return f"{money(low, currency)} … {money(high, currency)}"


def panel(
    session: Session,
    program: Program,
    period: tuple[datetime, datetime],
    weeks: Sequence[Week],
    bounds: Bounds,
) -> Panel:
    seed = seed_kpis(session, program, *period)
    b, a, auto = seed.buyers, seed.adoption, seed.automated
    cur = program.currency
    cells = [
        (
            "loyal_buyers",
            _("Loyal buyers (vs previous)"),
            f"{number(b.loyal_buyers)} ({_signed(b.loyal_buyers_change)})",
        ),
        ("loyal_revenue_share", _("Loyal buyers' revenue share"), percent(b.loyal_revenue_share)),
        (
            "repeat_purchase_share",
            _("Repeat purchases, of card purchases"),
            percent(b.repeat_purchase_share),
        ),
        (
            "card_adoption",
            _("Card in a wallet (of members)"),
            f"{percent(a.share)} ({number(a.installed)} / {number(a.members)})",
        ),
        ("automated_revenue", _("Revenue from automated messages"), money(auto.revenue, cur)),
    ]
    per_week = [buyer_kpis(session, program, *bounds(first, last)) for first, last in weeks]
    labels = [short_date(first) for first, _ in weeks]

    def draw(chart_id: str, title: str, series: Series, share: bool) -> Markup:
        svg = line_chart(
            chart_id=chart_id,
            frame=FRAME,
            title=title,
            labels=labels,
            series=[series],
            y_format=(lambda v: percent(v, 0)) if share else (lambda v: number(v)),
            y_max=1.0 if share else None,
            empty_text=_("No purchases in this period"),
        )
        return Markup(svg)  # noqa: S704  (our own SVG: every text in it is escaped)

    loyal = Series(
        _("Loyal buyers (vs previous)"), [float(k.loyal_buyers) for k in per_week], "#1F3A5F"
    )
    repeat = Series(
        _("Repeat purchases, of card purchases"),
        [k.repeat_purchase_share for k in per_week],
        "#2A9D8F",
    )
    charts = [
        (
            _("Loyal buyers at each week's end"),
            draw("chart-loyal", _("Loyal buyers at each week's end"), loyal, False),
        ),
        (
            _("Repeat purchases per week"),
            draw("chart-repeat", _("Repeat purchases per week"), repeat, True),
        ),
    ]
    adoption = [(app, n, percent(share)) for app, (n, share) in a.by_app.items()]
    automated = [
        (_source(s.source), s.targets, s.holdout, money(s.revenue, cur), _interval(*s.ci95, cur))
        for s in auto.sources
    ]
    return Panel(cells, charts, adoption, automated, seed)


def csv_cells(
    session: Session, program: Program, windows: Sequence[tuple[datetime, datetime]]
) -> list[list[Any]]:
    """The panel's CSV columns for each week (amounts in major units)."""
    out = []
    for start, end in windows:
        b: BuyerKpis = buyer_kpis(session, program, start, end)
        auto = automated_revenue(session, program, start, end)
        out.append(
            [
                b.loyal_buyers,
                _decimal(b.loyal_revenue_share, 4),
                _decimal(b.repeat_purchase_share, 4),
                _decimal(auto.revenue / 100),
                _decimal(auto.ci95[0] / 100),
                _decimal(auto.ci95[1] / 100),
            ]
        )
    return out


def _decimal(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"
