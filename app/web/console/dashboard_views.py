"""The KPI dashboard: a period's figures, weekly charts (server-side SVG), a CSV of the
weeks, and the figures per store. The weeks come from one ``kpis_series()`` read and
the stores from one ``kpis_by_store()`` read, not a pass over the history each.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from flask import Response, abort, request
from markupsafe import Markup

from app.analytics.kpis import Kpis, kpis_by_stage, kpis_by_store, kpis_series
from app.bounds import SafeCsvWriter, date_in_range
from app.services import staff_scope
from app.web.console import bp, invite_views, seed_panel, wallet_panel
from app.web.console.auth import current_staff, require
from app.web.console.charts import Frame, Series, line_chart
from app.web.console.forms import DASHBOARD_ROLES, all_programs, page, program_named
from app.web.console.texts import money, money_short, number, percent, short_date, text_for
from app.web.db import db, services
from app.web.i18n import _

if TYPE_CHECKING:
    from app.loyalty.models import Program, Store

DEFAULT_DAYS = 30
WIDE, HALF = Frame(width=960, height=260), Frame(width=480, height=250, left=60)
MAX_DAYS = 366
KPI_ORDER = (
    "revenue",
    "receipts",
    "average_check_with_card",
    "average_check_without_card",
    "check_uplift",
    "card_revenue_share",
    "card_penetration",
    "receipts_with_card",
    "revenue_with_card",
    "members_enrolled",
    "conversion_first",
    "conversion_second",
    "repeat_share",
    "purchases_per_person",
    "at_risk_share",
)
CSV_COLUMNS = (
    "week_start",
    "week_end",
    "receipts",
    "receipts_with_card",
    "revenue",
    "revenue_with_card",
    "average_check_with_card",
    "average_check_without_card",
    "card_revenue_share",
    "card_penetration",
)


@dataclass(frozen=True)
class Period:
    first: date  # local dates, both included
    last: date
    store: Store | None

    def bounds(
        self, zone: str, first: date | None = None, last: date | None = None
    ) -> tuple[datetime, datetime]:
        """UTC instants of local midnight at the first day and after the last day."""
        tz = ZoneInfo(zone)
        start = datetime.combine(first or self.first, time(0), tzinfo=tz).astimezone(UTC)
        end_day = (last or self.last) + timedelta(days=1)
        return start, datetime.combine(end_day, time(0), tzinfo=tz).astimezone(UTC)

    def weeks(self) -> list[tuple[date, date]]:
        out, day = [], self.first
        while day <= self.last:
            out.append((day, min(day + timedelta(days=6), self.last)))
            day += timedelta(days=7)
        return out


def visible_stores(program: Program) -> list[Store]:
    """The program's stores the user may see: a store manager given stores sees those."""
    user = current_staff()
    ids = staff_scope.store_ids(db(), user) if user is not None else None
    return [s for s in program.stores if ids is None or s.id in ids]


def read_period(program: Program) -> tuple[Period, dict[str, str]]:
    """The period and store asked for (defaults: the last 30 days, all stores)."""
    errors: dict[str, str] = {}
    today = services().clock.now().astimezone(ZoneInfo(program.timezone)).date()
    first, last = today - timedelta(days=DEFAULT_DAYS - 1), today
    for name in ("from", "to"):
        raw = (request.args.get(name) or "").strip()
        if not raw:
            continue
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            errors[name] = _("Enter a date (YYYY-MM-DD).")
            continue
        if not date_in_range(value):
            errors[name] = _("Enter a date between 1900 and 2100.")
            continue
        if name == "from":
            first = value
        else:
            last = value
    if not errors and not 0 <= (last - first).days < MAX_DAYS:
        errors["period"] = _("The period must start before it ends and last at most 366 days.")
    store = None
    code = (request.args.get("store") or "").strip()
    stores = visible_stores(program)
    if code:
        store = next((s for s in stores if s.code == code), None)
        if store is None and any(s.code == code for s in program.stores):
            abort(404)  # a store of the program, but not the manager's
        if store is None:
            errors["store"] = _("Unknown store.")
    elif len(stores) < len(program.stores):
        store = stores[0] if stores else None  # a store manager: their store, not the total
        if store is None:
            abort(404)
    if errors:
        first, last = today - timedelta(days=DEFAULT_DAYS - 1), today
    return Period(first, last, store), errors


def weekly(
    program: Program, period: Period, with_total: bool = False
) -> tuple[list[tuple[date, date, Kpis]], Kpis | None]:
    """Each week's figures (and the whole period's, when asked) from one read."""
    weeks = period.weeks()
    windows = [period.bounds(program.timezone, first, last) for first, last in weeks]
    if with_total:
        windows.append(period.bounds(program.timezone))
    store_id = period.store.id if period.store else None
    figures = kpis_series(db(), program, windows, store_id=store_id)
    rows = [(first, last, k) for (first, last), k in zip(weeks, figures, strict=False)]
    return rows, figures[-1] if with_total else None


@dataclass(frozen=True)
class Chart:
    title: str
    svg: Markup
    compact: Markup | None = None  # the same for narrow screens (CSS picks one)


def charts(program: Program, weeks: list[tuple[date, date, Kpis]]) -> list[Chart]:
    """The check over the full width (and a compact copy for phones), the shares side by side."""
    labels = [short_date(first) for first, _, _ in weeks]

    def draw(chart_id: str, frame: Frame, title: str, *series: Series, share: bool) -> Markup:
        svg = line_chart(
            chart_id=chart_id,
            frame=frame,
            title=title,
            labels=labels,
            series=series,
            y_format=(lambda v: percent(v, 0))
            if share
            else (lambda v: money_short(v, program.currency)),
            y_max=1.0 if share else None,
            empty_text=_("No purchases in this period"),
        )
        return Markup(svg)  # noqa: S704  (our own SVG: every text in it is escaped)

    check = (
        _("Average check with and without a card, by week"),
        Series(_("with card"), [k.average_check_with_card for *_, k in weeks], "#1F3A5F"),
        Series(
            _("without card"),
            [k.average_check_without_card for *_, k in weeks],
            "#E07A5F",
            dashed=True,
        ),
    )
    share = Series(_("card holders' share"), [k.card_revenue_share for *_, k in weeks], "#2A9D8F")
    reach = Series(_("receipts with a card"), [k.card_penetration for *_, k in weeks], "#7B61FF")
    return [
        Chart(
            check[0],
            draw("chart-check", WIDE, *check, share=False),
            draw("chart-check-compact", HALF, *check, share=False),
        ),
        Chart(
            _("Share of revenue from card holders, by week"),
            draw(
                "chart-share",
                HALF,
                _("Share of revenue from card holders, by week"),
                share,
                share=True,
            ),
        ),
        Chart(
            _("Card penetration (receipts with a card), by week"),
            draw(
                "chart-penetration",
                HALF,
                _("Card penetration (receipts with a card), by week"),
                reach,
                share=True,
            ),
        ),
    ]


def kpi_cells(k: Kpis, currency: str) -> list[tuple[str, str, str]]:
    """(field, label, value as read) for the KPI tiles."""
    cells = []
    for name in KPI_ORDER:
        value = getattr(k, name)
        if name in ("revenue", "revenue_with_card") or name.startswith("average_check"):
            text = money(value, currency)
        elif name == "check_uplift":
            text = "—" if value is None else ("+" if value > 0 else "") + percent(value)
        elif name in ("receipts", "receipts_with_card", "members_enrolled"):
            text = number(value)
        elif name == "purchases_per_person":
            text = number(value, 2)
        else:
            text = percent(value)
        cells.append((name, text_for(f"kpi.{name}"), text))
    return cells


# Below this many receipts an average or a share says more about chance than about the
# program (one big purchase moves it by a third): the page says so next to the figure.
MIN_RECEIPTS = 30


@bp.get("/dashboard")
@require(*DASHBOARD_ROLES)
def dashboard() -> Response:
    session = db()
    program = program_named(session, request.args.get("program"))
    period, errors = read_period(program)
    context: dict[str, Any] = {
        "program": program,
        "programs": all_programs(session),
        "stores": visible_stores(program),
        "all_stores": len(visible_stores(program)) == len(program.stores),
        "period": period,
        "errors": errors,
        "values": request.args,
        "query": request.query_string.decode(),
    }
    if errors:
        return page("console/dashboard.html", 422, **context)
    start, end = period.bounds(program.timezone)
    weeks, total = weekly(program, period, with_total=True)
    assert total is not None
    by_store = kpis_by_store(session, program, start, end, total)
    stores = visible_stores(program)
    per_store: list[tuple[Store | None, Kpis]] = [(store, by_store[store.id]) for store in stores]
    if None in by_store and len(stores) == len(program.stores):
        per_store.append((None, by_store[None]))  # receipts of tills in no store
    return page(
        "console/dashboard.html",
        cells=kpi_cells(total, program.currency),
        charts=charts(program, weeks),
        per_store=per_store,
        per_stage=kpis_by_stage(session, program, start, end),
        min_receipts=MIN_RECEIPTS,
        thin=total.receipts < MIN_RECEIPTS,
        loyalty=seed_panel.panel(
            session,
            program,
            (start, end),
            period.weeks(),
            lambda first, last: period.bounds(program.timezone, first, last),
        ),
        wallet_apps=wallet_panel.panel(
            session,
            program,
            (start, end),
            period.weeks(),
            lambda first, last: period.bounds(program.timezone, first, last),
        ),
        invite_funnel=invite_views.funnel_panel(program, start, end),
        **context,
    )


@bp.get("/dashboard.csv")
@require(*DASHBOARD_ROLES)
def dashboard_csv() -> Response:
    program = program_named(db(), request.args.get("program"))
    period, errors = read_period(program)
    if errors:
        return Response("\n".join(errors.values()) + "\n", 422, mimetype="text/plain")
    out = io.StringIO()
    writer = SafeCsvWriter(out, lineterminator="\n")
    writer.writerow((*CSV_COLUMNS, *seed_panel.CSV_COLUMNS, *wallet_panel.CSV_COLUMNS))
    weeks = weekly(program, period)[0]
    windows = [period.bounds(program.timezone, first, last) for first, last, _ in weeks]
    per_app = wallet_panel.csv_cells(db(), program, windows)
    loyalty = seed_panel.csv_cells(db(), program, windows)
    for (first, last, k), apps, loyal in zip(weeks, per_app, loyalty, strict=True):
        writer.writerow(
            [
                first.isoformat(),
                last.isoformat(),
                k.receipts,
                k.receipts_with_card,
                _decimal(k.revenue / 100),
                _decimal(k.revenue_with_card / 100),
                _decimal(_div(k.average_check_with_card, 100)),
                _decimal(_div(k.average_check_without_card, 100)),
                _decimal(k.card_revenue_share, 4),
                _decimal(k.card_penetration, 4),
                *loyal,
                *apps,
            ]
        )
    store = "-" + re.sub(r"[^A-Za-z0-9_-]", "", period.store.code) if period.store else ""
    name = f"dashboard-{program.slug}{store}-{period.first}-{period.last}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


FUNNEL_CSV_COLUMNS = (
    "period_start",
    "period_end",
    "channel",
    "source",
    "sent",
    "opened",
    "installed",
    "first_purchase",
)


@bp.get("/dashboard/invites.csv")
@require(*DASHBOARD_ROLES)
def invite_funnel_csv() -> Response:
    """The funnel panel's table for the period: one row per channel and source, then the
    total ("all", "all"). Its own file: the dashboard CSV has a row per week, and this
    breakdown is a table per period, not a few more columns of a week."""
    program = program_named(db(), request.args.get("program"))
    period, errors = read_period(program)
    if errors:
        return Response("\n".join(errors.values()) + "\n", 422, mimetype="text/plain")
    start, end = period.bounds(program.timezone)
    out = io.StringIO()
    writer = SafeCsvWriter(out, lineterminator="\n")
    writer.writerow(FUNNEL_CSV_COLUMNS)
    for row in invite_views.funnel_panel(program, start, end):
        writer.writerow(
            [
                period.first.isoformat(),
                period.last.isoformat(),
                row.channel,
                row.source,
                row.sent,
                row.opened,
                row.installed,
                row.purchased,
            ]
        )
    name = f"invite-funnel-{program.slug}-{period.first}-{period.last}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _div(value: float | None, by: int) -> float | None:
    return None if value is None else value / by


def _decimal(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"
